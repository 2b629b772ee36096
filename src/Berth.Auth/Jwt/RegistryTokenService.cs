using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Auth.Scopes;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Jwt;

/// <summary>
/// Issues and validates Docker registry bearer tokens: compact JWS, ES256, header
/// <c>{"alg":"ES256","typ":"JWT","kid":…}</c>, claims <c>iss sub aud exp nbf iat jti</c> and
/// <c>access: [{"type","name","actions"}]</c> as the Docker token specification describes. Validation trusts only
/// <c>ES256</c> with a key of the ring (never <c>alg: none</c>, never a key named by the token itself), checks the
/// signature before reading any claim, and then issuer, audience and lifetime. Thread-safe.
/// </summary>
public sealed class RegistryTokenService
{
    public const string Algorithm = "ES256";

    /// <summary>Longest token text accepted; a real one with a hundred repositories is a few kilobytes.</summary>
    public const int MaxTokenLength = 64 * 1024;

    private readonly SigningKeyRing _keys;
    private readonly RegistryTokenOptions _options;
    private readonly TimeProvider _clock;
    private readonly RandomNumberGenerator _random;

    public RegistryTokenService(SigningKeyRing keys, IOptions<RegistryTokenOptions> options, TimeProvider clock, RandomNumberGenerator random)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(random);
        _options = options.Value;
        if (_options.Lifetime < TimeSpan.FromSeconds(1) || _options.ClockSkew < TimeSpan.Zero
            || string.IsNullOrEmpty(_options.Issuer) || string.IsNullOrEmpty(_options.Service))
        {
            throw new ArgumentException("Registry tokens need an issuer, a service, a positive lifetime and a non-negative clock skew.", nameof(options));
        }

        _keys = keys;
        _clock = clock;
        _random = random;
    }

    /// <summary>
    /// Signs a token for <paramref name="subject"/> (empty for anonymous) granting <paramref name="permissions"/>, which is
    /// merged per resource first. An empty grant is a valid token with <c>access: []</c>. Times are whole seconds;
    /// <c>nbf</c> = <c>iat</c> = now, <c>exp</c> = now + <see cref="RegistryTokenOptions.Lifetime"/>.
    /// </summary>
    /// <param name="binding">
    /// The account (and access token) the caller signed in as, carried in the claims <c>berth_uid</c> or
    /// <c>berth_rid</c>, <c>berth_st</c>, <c>berth_tid</c> and <c>berth_tok</c>, so that a later request can check
    /// that the account is still the same and apply the token's own limits; null for an anonymous caller.
    /// </param>
    public IssuedRegistryToken Issue(string subject, IEnumerable<RegistryPermission> permissions, TokenBinding? binding = null) =>
        IssueCore(subject, permissions, _options.Service, _options.Lifetime, binding);

    /// <summary>
    /// Signs an OAuth2 refresh token for <paramref name="subject"/> (the <c>refresh_token</c> of <c>POST /token</c>
    /// with <c>access_type=offline</c>): no access, audience <see cref="RefreshAudience"/>, so it is never accepted as
    /// a registry token, lifetime <see cref="RegistryTokenOptions.RefreshLifetime"/>. It is bound to
    /// <paramref name="binding"/>: whoever honours it checks the account's id, security stamp and access token again.
    /// </summary>
    public IssuedRegistryToken IssueRefreshToken(string subject, TokenBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return IssueCore(subject, [], RefreshAudience, _options.RefreshLifetime, binding);
    }

    /// <summary>The audience of refresh tokens: the service name with <c>/refresh</c> appended.</summary>
    public string RefreshAudience => _options.Service + "/refresh";

    private IssuedRegistryToken IssueCore(string subject, IEnumerable<RegistryPermission> permissions, string audience, TimeSpan lifetime, TokenBinding? binding)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var granted = PermissionLists.Merge(permissions);
        var now = DateTimeOffset.FromUnixTimeSeconds(_clock.GetUtcNow().ToUnixTimeSeconds());
        var expires = now + TimeSpan.FromSeconds(Math.Ceiling(lifetime.TotalSeconds));
        var jti = new byte[16];
        _random.GetBytes(jti);

        var key = _keys.Current;
        var header = Json(w =>
        {
            w.WriteString("alg", Algorithm);
            w.WriteString("typ", "JWT");
            w.WriteString("kid", key.Id);
        });
        var payload = Json(w =>
        {
            w.WriteString("iss", _options.Issuer);
            w.WriteString("sub", subject);
            w.WriteString("aud", audience);
            w.WriteNumber("exp", expires.ToUnixTimeSeconds());
            w.WriteNumber("nbf", now.ToUnixTimeSeconds());
            w.WriteNumber("iat", now.ToUnixTimeSeconds());
            w.WriteString("jti", Base64Url.EncodeToString(jti));
            if (binding is not null)
            {
                w.WriteNumber(binding.Kind == Core.Access.TokenOwnerKind.Robot ? RobotIdClaim : UserIdClaim, binding.AccountId);
                if (binding.Stamp is { } stamp)
                {
                    w.WriteString(StampClaim, stamp);
                }

                if (binding.AccessTokenId is { } tid)
                {
                    w.WriteNumber(AccessTokenIdClaim, tid);
                }

                if (binding.AccessTokenLookupId is { } lookupId)
                {
                    w.WriteString(AccessTokenLookupIdClaim, lookupId);
                }
            }

            w.WriteStartArray("access");
            foreach (var entry in granted)
            {
                w.WriteStartObject();
                if (entry.Repository is { } repository)
                {
                    w.WriteString("type", DockerScope.RepositoryType);
                    w.WriteString("name", repository.Value);
                    w.WriteStartArray("actions");
                    foreach (var action in DockerScope.ActionNames(entry.Actions))
                    {
                        w.WriteStringValue(action);
                    }

                    w.WriteEndArray();
                }
                else
                {
                    w.WriteString("type", DockerScope.RegistryType);
                    w.WriteString("name", DockerScope.CatalogName);
                    w.WriteStartArray("actions");
                    w.WriteStringValue(DockerScope.AllActions);
                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        });

        return new IssuedRegistryToken(Sign(key, header, payload), now, expires);
    }

    /// <summary>
    /// Checks a presented token. Order: shape, <c>alg</c>, <c>kid</c>, signature, then issuer, audience
    /// (a string or an array containing the service), <c>exp</c> and <c>nbf</c> with
    /// <see cref="RegistryTokenOptions.ClockSkew"/>. Never throws for bad input.
    /// </summary>
    public RegistryTokenValidation Validate(string? token) => ValidateCore(token, _options.Service);

    /// <summary>Checks a refresh token as <see cref="Validate"/> does a registry token, but for <see cref="RefreshAudience"/>.</summary>
    public RegistryTokenValidation ValidateRefreshToken(string? token) => ValidateCore(token, RefreshAudience);

    /// <summary>The claim naming the access token a registry token was issued for (its row id).</summary>
    public const string AccessTokenIdClaim = "berth_tid";

    /// <summary>The claim with the lookup id of that access token (random, never reused): what binds the token.</summary>
    public const string AccessTokenLookupIdClaim = "berth_tok";

    /// <summary>The claim with the id of the user the token was issued to.</summary>
    public const string UserIdClaim = "berth_uid";

    /// <summary>The claim with the id of the robot account the token was issued to.</summary>
    public const string RobotIdClaim = "berth_rid";

    /// <summary>The claim with the fingerprint of the user's security stamp at sign-in (<see cref="TokenBinding.Fingerprint"/>).</summary>
    public const string StampClaim = "berth_st";

    private RegistryTokenValidation ValidateCore(string? token, string audience)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return new(RegistryTokenStatus.Malformed);
        }

        var firstDot = token.IndexOf('.', StringComparison.Ordinal);
        var secondDot = firstDot < 0 ? -1 : token.IndexOf('.', firstDot + 1);
        if (firstDot <= 0 || secondDot <= firstDot + 1 || token.IndexOf('.', secondDot + 1) >= 0)
        {
            return new(RegistryTokenStatus.Malformed);
        }

        if (!TryDecode(token.AsSpan(0, firstDot), out var headerBytes) || !TryParseObject(headerBytes, out var header))
        {
            return new(RegistryTokenStatus.Malformed);
        }

        SigningKey? key;
        using (header)
        {
            var root = header.RootElement;
            if (root.TryGetProperty("crit", out _))
            {
                return new(RegistryTokenStatus.Malformed);
            }

            if (!root.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != Algorithm)
            {
                return new(RegistryTokenStatus.UnsupportedAlgorithm);
            }

            key = root.TryGetProperty("kid", out var kid) && kid.ValueKind == JsonValueKind.String ? _keys.Find(kid.GetString()) : null;
            if (key is null)
            {
                return new(RegistryTokenStatus.UnknownKey);
            }
        }

        if (!TryDecode(token.AsSpan(secondDot + 1), out var signature) || signature.Length != 64
            || !key.Verify(Encoding.ASCII.GetBytes(token, 0, secondDot), signature))
        {
            return new(RegistryTokenStatus.BadSignature);
        }

        if (!TryDecode(token.AsSpan(firstDot + 1, secondDot - firstDot - 1), out var payloadBytes) || !TryParseObject(payloadBytes, out var payload))
        {
            return new(RegistryTokenStatus.Malformed);
        }

        using (payload)
        {
            return Check(payload.RootElement, audience);
        }
    }

    private RegistryTokenValidation Check(JsonElement claims, string audience)
    {
        if (!TryGetString(claims, "iss", out var issuer) || !TryGetTime(claims, "exp", out var expires)
            || !TryGetAudience(claims, out var audiences))
        {
            return new(RegistryTokenStatus.Malformed);
        }

        var hasNotBefore = claims.TryGetProperty("nbf", out _);
        var notBefore = DateTimeOffset.MinValue;
        if (hasNotBefore && !TryGetTime(claims, "nbf", out notBefore))
        {
            return new(RegistryTokenStatus.Malformed);
        }

        var issuedAt = notBefore;
        if (claims.TryGetProperty("iat", out _) && !TryGetTime(claims, "iat", out issuedAt))
        {
            return new(RegistryTokenStatus.Malformed);
        }

        if (!string.Equals(issuer, _options.Issuer, StringComparison.Ordinal))
        {
            return new(RegistryTokenStatus.WrongIssuer);
        }

        if (!audiences.Contains(audience, StringComparer.Ordinal))
        {
            return new(RegistryTokenStatus.WrongAudience);
        }

        var now = _clock.GetUtcNow();
        if (now >= expires + _options.ClockSkew)
        {
            return new(RegistryTokenStatus.Expired);
        }

        if (hasNotBefore && now + _options.ClockSkew < notBefore)
        {
            return new(RegistryTokenStatus.NotYetValid);
        }

        TryGetString(claims, "sub", out var subject);
        TryGetString(claims, "jti", out var id);
        if (!TryReadBinding(claims, out var binding))
        {
            return new(RegistryTokenStatus.Malformed);
        }

        return new(RegistryTokenStatus.Valid, new RegistryTokenClaims(
            issuer, subject ?? string.Empty, audience, issuedAt, notBefore, expires, id ?? string.Empty, ReadPermissions(claims), binding));
    }

    /// <summary>The binding claims; none is a null binding (anonymous, or a token from before bindings), a user and a robot id at once is malformed.</summary>
    private static bool TryReadBinding(JsonElement claims, out TokenBinding? binding)
    {
        binding = null;
        var user = TryGetInt64(claims, UserIdClaim);
        var robot = TryGetInt64(claims, RobotIdClaim);
        if (user is not null && robot is not null)
        {
            return false;
        }

        if ((user ?? robot) is not { } accountId)
        {
            return true;
        }

        binding = new TokenBinding(
            user is not null ? Core.Access.TokenOwnerKind.User : Core.Access.TokenOwnerKind.Robot,
            accountId,
            TryGetString(claims, StampClaim, out var stamp) ? stamp : null,
            TryGetInt64(claims, AccessTokenIdClaim),
            TryGetString(claims, AccessTokenLookupIdClaim, out var lookupId) ? lookupId : null);
        return true;
    }

    private static long? TryGetInt64(JsonElement element, string name) =>
        element.TryGetProperty(name, out var property) && property.ValueKind == JsonValueKind.Number && property.TryGetInt64(out var value) ? value : null;

    /// <summary>Reads the access claim; entries of unknown type or with invalid names are skipped.</summary>
    private static IReadOnlyList<RegistryPermission> ReadPermissions(JsonElement claims)
    {
        if (!claims.TryGetProperty("access", out var access) || access.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var list = new List<RegistryPermission>();
        foreach (var entry in access.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !TryGetString(entry, "type", out var type) || !TryGetString(entry, "name", out var name)
                || !entry.TryGetProperty("actions", out var actionsElement) || actionsElement.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            var names = actionsElement.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).ToArray();
            if (type == DockerScope.RepositoryType && RepositoryName.TryParse(name, out var repository))
            {
                list.Add(new RegistryPermission(repository, DockerScope.ParseActions(names)));
            }
            else if (type == DockerScope.RegistryType && name == DockerScope.CatalogName && names.Contains(DockerScope.AllActions))
            {
                list.Add(RegistryPermission.Catalog);
            }
        }

        return PermissionLists.Merge(list);
    }

    private static string Sign(SigningKey key, byte[] header, byte[] payload)
    {
        var signingInput = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(payload);
        return signingInput + "." + Base64Url.EncodeToString(key.Sign(Encoding.ASCII.GetBytes(signingInput)));
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Strict base64url: only the canonical encoding of the decoded bytes is accepted (no padding, no spare bits).</summary>
    private static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        int written;
        try
        {
            if (!Base64Url.TryDecodeFromChars(text, bytes, out written))
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false; // TryDecodeFromChars only reports a short destination by its result
        }

        bytes = bytes[..written];
        return text.SequenceEqual(Base64Url.EncodeToString(bytes));
    }

    /// <summary>
    /// A JSON object whose every name and string is text: a header is read before its signature is checked, and a
    /// string of bytes that are not UTF-8, or an escaped lone surrogate, makes GetString throw (a 500 for anyone).
    /// </summary>
    private static bool TryParseObject(byte[] json, out JsonDocument document)
    {
        document = null!;
        try
        {
            var parsed = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16, AllowDuplicateProperties = false });
            if (parsed.RootElement.ValueKind != JsonValueKind.Object || !System.Text.Unicode.Utf8.IsValid(json) || !IsText(parsed.RootElement))
            {
                parsed.Dispose();
                return false;
            }

            document = parsed;
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: the duplicate-name check unescapes names, and throws on a lone surrogate.
            return false;
        }
    }

    private static bool IsText(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return true;
                case JsonValueKind.Array:
                    return element.EnumerateArray().All(IsText);
                case JsonValueKind.Object:
                    return element.EnumerateObject().All(p => p.Name.Length >= 0 && IsText(p.Value));
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryGetString(JsonElement element, string name, out string value)
    {
        value = string.Empty;
        if (!element.TryGetProperty(name, out var property) || property.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = property.GetString()!;
        return true;
    }

    private static bool TryGetTime(JsonElement element, string name, out DateTimeOffset value)
    {
        value = default;
        if (!element.TryGetProperty(name, out var property) || property.ValueKind != JsonValueKind.Number || !property.TryGetDouble(out var seconds)
            || double.IsNaN(seconds) || seconds < 0 || seconds > 253_402_300_799)
        {
            return false;
        }

        value = DateTimeOffset.FromUnixTimeSeconds((long)seconds);
        return true;
    }

    private static bool TryGetAudience(JsonElement claims, out IReadOnlyList<string> audiences)
    {
        audiences = [];
        if (!claims.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            audiences = [aud.GetString()!];
            return true;
        }

        if (aud.ValueKind != JsonValueKind.Array || aud.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
        {
            return false;
        }

        audiences = aud.EnumerateArray().Select(a => a.GetString()!).ToArray();
        return true;
    }
}
