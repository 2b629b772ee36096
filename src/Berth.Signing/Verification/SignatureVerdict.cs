namespace Berth.Signing.Verification;

/// <summary>
/// The outcome of verifying the signatures of one digest: valid (with the name of the trusted key or root that
/// vouched for it) or invalid with the most specific <see cref="SignatureFailure"/> and a human-readable detail.
/// </summary>
public sealed record SignatureVerdict
{
    private SignatureVerdict(bool isValid, string? trustName, SignatureFailure? failure, string detail)
    {
        IsValid = isValid;
        TrustName = trustName;
        Failure = failure;
        Detail = detail;
    }

    public bool IsValid { get; }

    /// <summary>The name of the trusted key or root that verified the signature; null when invalid.</summary>
    public string? TrustName { get; }

    /// <summary>Why the signature is not valid; null when valid.</summary>
    public SignatureFailure? Failure { get; }

    /// <summary>One line for logs, audit entries and error messages.</summary>
    public string Detail { get; }

    public static SignatureVerdict Valid(string trustName, string detail) => new(true, trustName, null, detail);

    public static SignatureVerdict Invalid(SignatureFailure failure, string detail) => new(false, null, failure, detail);

    public static SignatureVerdict NoSignature { get; } = Invalid(SignatureFailure.NoSignature, "no signature");

    /// <summary>
    /// Several signatures of one digest: valid if any is valid (the first valid one), otherwise the invalid verdict with
    /// the most specific failure (the first of them on a tie); <see cref="NoSignature"/> when there are none.
    /// </summary>
    public static SignatureVerdict Combine(IEnumerable<SignatureVerdict> verdicts)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        SignatureVerdict? best = null;
        foreach (var verdict in verdicts)
        {
            if (verdict.IsValid)
            {
                return verdict;
            }

            if (best is null || verdict.Failure > best.Failure)
            {
                best = verdict;
            }
        }

        return best ?? NoSignature;
    }

    public override string ToString() => IsValid ? $"valid ({TrustName}): {Detail}" : $"{Failure}: {Detail}";
}
