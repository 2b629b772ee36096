using Berth.Signing.Verification;

namespace Berth.Signing.Tests;

public sealed class SignatureVerdictTests
{
    [Fact]
    public void Combine_None_IsNoSignature()
    {
        Assert.Equal(SignatureFailure.NoSignature, SignatureVerdict.Combine([]).Failure);
    }

    [Fact]
    public void Combine_AnyValid_IsThatValid()
    {
        var verdict = SignatureVerdict.Combine([
            SignatureVerdict.Invalid(SignatureFailure.WrongDigest, "a"),
            SignatureVerdict.Valid("team", "b"),
            SignatureVerdict.Invalid(SignatureFailure.BadSignature, "c"),
        ]);

        Assert.True(verdict.IsValid);
        Assert.Equal("team", verdict.TrustName);
    }

    [Fact]
    public void Combine_AllInvalid_IsTheMostSpecific()
    {
        var verdict = SignatureVerdict.Combine([
            SignatureVerdict.Invalid(SignatureFailure.Malformed, "a"),
            SignatureVerdict.Invalid(SignatureFailure.WrongDigest, "b"),
            SignatureVerdict.Invalid(SignatureFailure.UntrustedKey, "c"),
        ]);

        Assert.Equal(SignatureFailure.WrongDigest, verdict.Failure);
        Assert.Equal("b", verdict.Detail);
    }
}
