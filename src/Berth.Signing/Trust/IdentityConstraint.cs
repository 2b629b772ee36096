using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace Berth.Signing.Trust;

/// <summary>
/// Which signing certificates a trusted root may vouch for, as notation's trusted identities and cosign's
/// <c>--certificate-identity</c> do. Each rule is one of:
/// <list type="bullet">
/// <item><c>*</c>: any certificate chaining to the root;</item>
/// <item><c>x509.subject: C=US, O=Acme, CN=builder</c>: every listed attribute is in the certificate's subject with that
/// value (other attributes may be present; order does not matter), as notation matches them;</item>
/// <item><c>email:builder@example.com</c> or <c>uri:https://ci.example.com/*</c>: a SAN email or URI equal to the value,
/// where <c>*</c> matches any run of characters.</item>
/// </list>
/// A certificate matches when any rule matches. A constraint has at least one rule: "no rules" is not "anything".
/// </summary>
public sealed class IdentityConstraint
{
    private static readonly Dictionary<string, string> AttributeOids = new(StringComparer.OrdinalIgnoreCase)
    {
        ["C"] = "2.5.4.6",
        ["ST"] = "2.5.4.8",
        ["S"] = "2.5.4.8",
        ["L"] = "2.5.4.7",
        ["O"] = "2.5.4.10",
        ["OU"] = "2.5.4.11",
        ["CN"] = "2.5.4.3",
        ["SERIALNUMBER"] = "2.5.4.5",
        ["E"] = "1.2.840.113549.1.9.1",
        ["EMAILADDRESS"] = "1.2.840.113549.1.9.1",
    };

    private readonly List<Rule> _rules;

    private IdentityConstraint(List<Rule> rules, IReadOnlyList<string> text)
    {
        _rules = rules;
        Rules = text;
    }

    /// <summary>The rules as they were given (for storage and display).</summary>
    public IReadOnlyList<string> Rules { get; }

    /// <summary>Any certificate chaining to the root.</summary>
    public static IdentityConstraint Any { get; } = Parse(["*"]);

    /// <summary>Parses the rules; <see cref="FormatException"/> names the first one that is not understood.</summary>
    public static IdentityConstraint Parse(IReadOnlyList<string> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (rules.Count == 0)
        {
            throw new FormatException("an identity constraint needs at least one rule ('*' for any identity)");
        }

        var parsed = new List<Rule>();
        foreach (var text in rules)
        {
            parsed.Add(ParseRule(text));
        }

        return new IdentityConstraint(parsed, [.. rules]);
    }

    /// <summary>True when any rule matches <paramref name="certificate"/>.</summary>
    public bool Matches(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        IReadOnlyList<(string Oid, string Value)>? subject = null;
        (List<string> Emails, List<string> Uris)? names = null;
        foreach (var rule in _rules)
        {
            switch (rule.Kind)
            {
                case RuleKind.Any:
                    return true;
                case RuleKind.Subject:
                    subject ??= SubjectAttributes(certificate);
                    if (rule.Attributes!.All(wanted => subject.Any(have => have.Oid == wanted.Oid && have.Value == wanted.Value)))
                    {
                        return true;
                    }

                    break;
                case RuleKind.Email:
                    names ??= SubjectAlternativeNames(certificate);
                    if (names.Value.Emails.Any(e => rule.Pattern!.IsMatch(e)))
                    {
                        return true;
                    }

                    break;
                default:
                    names ??= SubjectAlternativeNames(certificate);
                    if (names.Value.Uris.Any(u => rule.Pattern!.IsMatch(u)))
                    {
                        return true;
                    }

                    break;
            }
        }

        return false;
    }

    public override string ToString() => string.Join("; ", Rules);

    private static Rule ParseRule(string text)
    {
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed == "*")
        {
            return new Rule(RuleKind.Any, null, null);
        }

        if (trimmed.StartsWith("x509.subject:", StringComparison.Ordinal))
        {
            var attributes = new List<(string Oid, string Value)>();
            foreach (var part in trimmed["x509.subject:".Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0 || !AttributeOids.TryGetValue(part[..equals].Trim(), out var oid) || part[(equals + 1)..].Trim().Length == 0)
                {
                    throw new FormatException($"identity rule '{text}': '{part}' is not ATTRIBUTE=value with a known attribute (C, ST, L, O, OU, CN, SERIALNUMBER, E)");
                }

                attributes.Add((oid, part[(equals + 1)..].Trim()));
            }

            return attributes.Count == 0
                ? throw new FormatException($"identity rule '{text}' names no subject attribute")
                : new Rule(RuleKind.Subject, attributes, null);
        }

        foreach (var (prefix, kind) in new[] { ("email:", RuleKind.Email), ("uri:", RuleKind.Uri) })
        {
            if (trimmed.StartsWith(prefix, StringComparison.Ordinal) && trimmed.Length > prefix.Length)
            {
                var pattern = "^" + Regex.Escape(trimmed[prefix.Length..]).Replace("\\*", ".*", StringComparison.Ordinal) + "$";
                return new Rule(kind, null, new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)));
            }
        }

        throw new FormatException($"identity rule '{text}' is not '*', 'x509.subject: ...', 'email:...' or 'uri:...'");
    }

    private static List<(string Oid, string Value)> SubjectAttributes(X509Certificate2 certificate)
    {
        var list = new List<(string, string)>();
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementValue() is { } value)
            {
                list.Add((rdn.GetSingleElementType().Value ?? string.Empty, value));
            }
        }

        return list;
    }

    private static (List<string> Emails, List<string> Uris) SubjectAlternativeNames(X509Certificate2 certificate)
    {
        var emails = new List<string>();
        var uris = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }

            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var sequence = reader.ReadSequence();
                while (sequence.HasData)
                {
                    var tag = sequence.PeekTag();
                    if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue is 1 or 6)
                    {
                        var value = sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag);
                        (tag.TagValue == 1 ? emails : uris).Add(value);
                    }
                    else
                    {
                        sequence.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                // A malformed SAN extension names nobody.
            }
        }

        return (emails, uris);
    }

    private enum RuleKind
    {
        Any,
        Subject,
        Email,
        Uri,
    }

    private sealed record Rule(RuleKind Kind, List<(string Oid, string Value)>? Attributes, Regex? Pattern);
}
