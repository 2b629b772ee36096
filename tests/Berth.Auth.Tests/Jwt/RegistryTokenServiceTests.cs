using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Auth.Jwt;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Auth.Tests.Jwt;

public sealed class RegistryTokenServiceTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RepositoryName Api = RepositoryName.Parse("shop/api");

    private readonly FakeTimeProvider _clock = new(Start);
    private readonly SigningKeyRing _ring = SigningKeyRing.CreateEphemeral();

    public void Dispose() => _ring.Dispose();

    private RegistryTokenService Create(SigningKeyRing? ring = null, TimeProvider? clock = null, string issuer = "berth", string service = "registry.test") =>
        new(ring ?? _ring, Options.Create(new RegistryTokenOptions { Issuer = issuer, Service = service }), clock ?? _clock, RandomNumberGenerator.Create());

    private string IssueDefault() => Create().Issue("alice", [new(Api, RegistryActions.Pull | RegistryActions.Push)]).Token;

    [Fact]
    public void Issue_ThenValidate_ReturnsClaimsAndAccess()
    {
        var service = Create();
        var issued = service.Issue("alice", [new(Api, RegistryActions.Pull | RegistryActions.Push), RegistryPermission.Catalog]);

        var result = service.Validate(issued.Token);

        Assert.Equal(RegistryTokenStatus.Valid, result.Status);
        Assert.True(result.IsValid);
        var claims = result.Claims!;
        Assert.Equal("berth", claims.Issuer);
        Assert.Equal("alice", claims.Subject);
        Assert.Equal("registry.test", claims.Audience);
        Assert.Equal(Start, claims.IssuedAt);
        Assert.Equal(Start, claims.NotBefore);
        Assert.Equal(Start.AddMinutes(5), claims.ExpiresAt);
        Assert.NotEmpty(claims.Id);
        Assert.Equal([new(Api, RegistryActions.Pull | RegistryActions.Push), RegistryPermission.Catalog], claims.Permissions);
    }

    [Fact]
    public void Issue_WithAccessTokenBinding_CarriesAccountTokenAndStamp()
    {
        var service = Create();
        var binding = new TokenBinding(TokenOwnerKind.User, 5, "stamp-fingerprint", 42, "lookup42");

        var token = service.Issue("alice", [], binding).Token;
        var withBinding = service.Validate(token).Claims!;
        var withoutBinding = service.Validate(service.Issue("alice", []).Token).Claims!;

        Assert.Equal(binding, withBinding.Binding);
        Assert.Equal(42, withBinding.AccessTokenId);
        Assert.True(withBinding.Binding!.ByAccessToken);
        var payload = Part(token, 1);
        Assert.Equal(5, (long)payload["berth_uid"]!);
        Assert.Equal("lookup42", (string?)payload["berth_tok"]);
        Assert.Equal(42, (long)payload["berth_tid"]!);
        Assert.Equal("stamp-fingerprint", (string?)payload["berth_st"]);
        Assert.Null(withoutBinding.Binding);
        Assert.Null(withoutBinding.AccessTokenId);
    }

    [Fact]
    public void Issue_RobotBinding_CarriesRobotIdNotUserId()
    {
        var service = Create();
        var binding = new TokenBinding(TokenOwnerKind.Robot, 9, null, 3, "robotlookup");

        var token = service.Issue("shop+ci", [], binding).Token;

        Assert.Equal(binding, service.Validate(token).Claims!.Binding);
        Assert.Equal(9, (long)Part(token, 1)["berth_rid"]!);
        Assert.Null(Part(token, 1)["berth_uid"]);
    }

    [Fact]
    public void Validate_UserAndRobotIdAtOnce_Malformed()
    {
        var payload = Part(Create().Issue("alice", [], new TokenBinding(TokenOwnerKind.User, 5, "st")).Token, 1);
        payload["berth_rid"] = 5;

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(SignCustom(Part(IssueDefault(), 0), payload)).Status);
    }

    [Fact]
    public void RefreshToken_IsValidOnlyAsRefreshToken_AndLastsThirtyDays()
    {
        var service = Create();
        var binding = new TokenBinding(TokenOwnerKind.User, 5, "st", 7, "lookup7");
        var refresh = service.IssueRefreshToken("alice", binding);

        var asRefresh = service.ValidateRefreshToken(refresh.Token);
        Assert.Equal(RegistryTokenStatus.Valid, asRefresh.Status);
        Assert.Equal("alice", asRefresh.Claims!.Subject);
        Assert.Equal(binding, asRefresh.Claims.Binding);
        Assert.Equal("registry.test/refresh", asRefresh.Claims.Audience);
        Assert.Empty(asRefresh.Claims.Permissions);
        Assert.Equal(Start.AddDays(30), refresh.ExpiresAt);

        // A refresh token never opens the registry, and a registry token never refreshes.
        Assert.Equal(RegistryTokenStatus.WrongAudience, service.Validate(refresh.Token).Status);
        Assert.Equal(RegistryTokenStatus.WrongAudience, service.ValidateRefreshToken(IssueDefault()).Status);

        _clock.Advance(TimeSpan.FromDays(30) + TimeSpan.FromMinutes(1));
        Assert.Equal(RegistryTokenStatus.Expired, service.ValidateRefreshToken(refresh.Token).Status);
    }

    [Fact]
    public void Issue_ManyTokens_EverySignatureHasLowS()
    {
        var service = Create();

        // ECDSA makes a high s about half the time; 64 tokens without one normalised would happen by chance once in 2^64.
        for (var i = 0; i < 64; i++)
        {
            var token = service.Issue("alice", [new(Api, RegistryActions.Pull)]).Token;
            Assert.False(SigningKey.IsHighS(Base64Url.DecodeFromChars(token.Split('.')[2])), $"token {i} has a high s");
            Assert.Equal(RegistryTokenStatus.Valid, service.Validate(token).Status);
        }
    }

    [Fact]
    public void Validate_HighSTwinOfValidSignature_BadSignature()
    {
        var service = Create();
        var token = service.Issue("alice", [new(Api, RegistryActions.Pull | RegistryActions.Push)]).Token;
        var parts = token.Split('.');
        var twin = HighSTwin(Base64Url.DecodeFromChars(parts[2]));

        // The twin is a valid ECDSA signature of the same input (the platform accepts it); only the low-s rule refuses it.
        using (var publicKey = ECDsa.Create())
        {
            publicKey.ImportFromPem(_ring.Current.ExportPublicKeyPem());
            Assert.True(publicKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), twin, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        }

        Assert.True(SigningKey.IsHighS(twin));
        Assert.Equal(RegistryTokenStatus.BadSignature, service.Validate($"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(twin)}").Status);
        Assert.Equal(RegistryTokenStatus.Valid, service.Validate(token).Status);
    }

    [Fact]
    public void NormalizeLowS_HighS_BecomesOrderMinusS()
    {
        var low = Base64Url.DecodeFromChars(IssueDefault().Split('.')[2]);
        var high = HighSTwin(low);

        SigningKey.NormalizeLowS(high);

        Assert.Equal(low, high);
        var unchanged = low.ToArray();
        SigningKey.NormalizeLowS(unchanged);
        Assert.Equal(low, unchanged);
    }

    /// <summary>(r, n − s): the other valid signature of the same input.</summary>
    private static byte[] HighSTwin(byte[] signature)
    {
        var order = System.Numerics.BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        var s = new System.Numerics.BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        var other = (order - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        var twin = new byte[64];
        signature.AsSpan(0, 32).CopyTo(twin);
        other.CopyTo(twin.AsSpan(64 - other.Length));
        return twin;
    }

    [Fact]
    public void Issue_Any_ReportsIssuedAtAndExpiresIn()
    {
        var issued = Create().Issue("alice", []);

        Assert.Equal(Start, issued.IssuedAt);
        Assert.Equal(Start.AddMinutes(5), issued.ExpiresAt);
        Assert.Equal(300, issued.ExpiresInSeconds);
    }

    [Fact]
    public void Issue_Header_IsEs256JwtWithCurrentKid()
    {
        var header = Part(IssueDefault(), 0);

        Assert.Equal("ES256", (string?)header["alg"]);
        Assert.Equal("JWT", (string?)header["typ"]);
        Assert.Equal(_ring.Current.Id, (string?)header["kid"]);
    }

    [Fact]
    public void Issue_Payload_HasDockerClaims()
    {
        var payload = Part(IssueDefault(), 1);

        Assert.Equal("berth", (string?)payload["iss"]);
        Assert.Equal("alice", (string?)payload["sub"]);
        Assert.Equal("registry.test", (string?)payload["aud"]);
        Assert.Equal(Start.ToUnixTimeSeconds(), (long?)payload["iat"]);
        Assert.Equal(Start.ToUnixTimeSeconds(), (long?)payload["nbf"]);
        Assert.Equal(Start.AddMinutes(5).ToUnixTimeSeconds(), (long?)payload["exp"]);
        Assert.Matches("^[A-Za-z0-9_-]{22}$", (string?)payload["jti"]);
        Assert.Equal("""[{"type":"repository","name":"shop/api","actions":["pull","push"]}]""", payload["access"]!.ToJsonString());
    }

    [Fact]
    public void Issue_Catalog_IsRegistryCatalogStar()
    {
        var payload = Part(Create().Issue("root", [RegistryPermission.Catalog]).Token, 1);

        Assert.Equal("""[{"type":"registry","name":"catalog","actions":["*"]}]""", payload["access"]!.ToJsonString());
    }

    [Fact]
    public void Issue_EmptyGrant_IsValidTokenWithEmptyAccess()
    {
        var service = Create();
        var token = service.Issue("", []).Token;

        Assert.Equal("[]", Part(token, 1)["access"]!.ToJsonString());
        var result = service.Validate(token);
        Assert.Equal(RegistryTokenStatus.Valid, result.Status);
        Assert.Empty(result.Claims!.Permissions);
        Assert.Equal("", result.Claims.Subject);
    }

    [Fact]
    public void Issue_DuplicateAndEmptyEntries_AreMerged()
    {
        var token = Create().Issue("alice", [new(Api, RegistryActions.Pull), new(Api, RegistryActions.Push), new(RepositoryName.Parse("shop/web"), RegistryActions.None)]).Token;

        Assert.Equal("""[{"type":"repository","name":"shop/api","actions":["pull","push"]}]""", Part(token, 1)["access"]!.ToJsonString());
    }

    [Fact]
    public void Issue_TwoTokens_HaveDifferentIds()
    {
        var service = Create();

        Assert.NotEqual((string?)Part(service.Issue("a", []).Token, 1)["jti"], (string?)Part(service.Issue("a", []).Token, 1)["jti"]);
    }

    [Fact]
    public void Validate_TamperedHeader_BadSignature()
    {
        var token = IssueDefault();
        var header = Part(token, 0);
        header["typ"] = "jwt";

        Assert.Equal(RegistryTokenStatus.BadSignature, Create().Validate(Replace(token, 0, header)).Status);
    }

    [Fact]
    public void Validate_TamperedPayload_BadSignature()
    {
        var token = IssueDefault();
        var payload = Part(token, 1);
        payload["access"]![0]!["actions"] = new JsonArray("pull", "push", "delete");

        Assert.Equal(RegistryTokenStatus.BadSignature, Create().Validate(Replace(token, 1, payload)).Status);
    }

    [Fact]
    public void Validate_TamperedSignature_BadSignature()
    {
        var token = IssueDefault();
        var parts = token.Split('.');
        var signature = Base64Url.DecodeFromChars(parts[2]);
        signature[10] ^= 0x01;

        Assert.Equal(RegistryTokenStatus.BadSignature, Create().Validate($"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(signature)}").Status);
    }

    [Fact]
    public void Validate_NonCanonicalSignatureEncoding_BadSignature()
    {
        // 64 bytes are 86 base64url characters with 4 spare bits in the last one; setting them changes the text, not the bytes.
        var token = IssueDefault();
        var parts = token.Split('.');
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var last = alphabet.IndexOf(parts[2][^1], StringComparison.Ordinal);
        var altered = parts[2][..^1] + alphabet[last | 0x0F];
        Assert.NotEqual(parts[2], altered);

        Assert.Equal(RegistryTokenStatus.BadSignature, Create().Validate($"{parts[0]}.{parts[1]}.{altered}").Status);
    }

    [Fact]
    public void Validate_SignatureMissing_BadSignature()
    {
        var parts = IssueDefault().Split('.');

        Assert.Equal(RegistryTokenStatus.BadSignature, Create().Validate($"{parts[0]}.{parts[1]}.").Status);
    }

    [Fact]
    public void Validate_UnknownKid_UnknownKey()
    {
        var token = IssueDefault();
        var header = Part(token, 0);
        header["kid"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

        Assert.Equal(RegistryTokenStatus.UnknownKey, Create().Validate(Replace(token, 0, header)).Status);
    }

    [Fact]
    public void Validate_MissingKid_UnknownKey()
    {
        var token = IssueDefault();
        var header = Part(token, 0);
        header.Remove("kid");

        Assert.Equal(RegistryTokenStatus.UnknownKey, Create().Validate(Replace(token, 0, header)).Status);
    }

    [Fact]
    public void Validate_TokenOfAnotherRing_UnknownKey()
    {
        using var otherRing = SigningKeyRing.CreateEphemeral();
        var token = Create(otherRing).Issue("alice", [new(Api, RegistryActions.Pull)]).Token;

        Assert.Equal(RegistryTokenStatus.UnknownKey, Create().Validate(token).Status);
    }

    [Fact]
    public void Validate_KidOfAnotherKeyInRing_BadSignature()
    {
        var token = IssueDefault();
        var old = _ring.Current.Id;
        var newer = _ring.Rotate();
        var header = Part(token, 0);
        header["kid"] = newer.Id;
        Assert.NotEqual(old, newer.Id);

        Assert.Equal(RegistryTokenStatus.BadSignature, Create().Validate(Replace(token, 0, header)).Status);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("NONE")]
    [InlineData("")]
    [InlineData("HS256")]
    [InlineData("RS256")]
    [InlineData("ES384")]
    [InlineData("es256")]
    public void Validate_OtherAlgorithm_Unsupported(string alg)
    {
        var payload = Part(IssueDefault(), 1);
        var header = new JsonObject { ["alg"] = alg, ["typ"] = "JWT", ["kid"] = _ring.Current.Id };

        Assert.Equal(RegistryTokenStatus.UnsupportedAlgorithm, Create().Validate($"{Encode(header)}.{Encode(payload)}.").Status);
        Assert.Equal(RegistryTokenStatus.UnsupportedAlgorithm, Create().Validate($"{Encode(header)}.{Encode(payload)}.c2lnbmF0dXJl").Status);
    }

    [Fact]
    public void Validate_AlgorithmMissingOrNotString_Unsupported()
    {
        var payload = Part(IssueDefault(), 1);

        Assert.Equal(RegistryTokenStatus.UnsupportedAlgorithm, Create().Validate($"{Encode(new JsonObject { ["kid"] = _ring.Current.Id })}.{Encode(payload)}.AAAA").Status);
        Assert.Equal(RegistryTokenStatus.UnsupportedAlgorithm, Create().Validate($"{Encode(new JsonObject { ["alg"] = 1, ["kid"] = _ring.Current.Id })}.{Encode(payload)}.AAAA").Status);
    }

    [Fact]
    public void Validate_Hs256SignedWithPublicKey_Unsupported()
    {
        // The classic algorithm-confusion attack: an HMAC keyed with the (public) verification key.
        var payload = Part(IssueDefault(), 1);
        var header = new JsonObject { ["alg"] = "HS256", ["typ"] = "JWT", ["kid"] = _ring.Current.Id };
        var input = $"{Encode(header)}.{Encode(payload)}";
        var mac = HMACSHA256.HashData(Encoding.ASCII.GetBytes(_ring.Current.ExportPublicKeyPem()), Encoding.ASCII.GetBytes(input));

        Assert.Equal(RegistryTokenStatus.UnsupportedAlgorithm, Create().Validate($"{input}.{Base64Url.EncodeToString(mac)}").Status);
    }

    [Theory]
    [InlineData("""{"alg":"ES256","typ":"JWT","kid":"\ud800"}""")]
    [InlineData("""{"alg":"\udc00","kid":"x"}""")]
    [InlineData("""{"alg":"ES256","kid":"x","x5u":["a\ud800b"]}""")]
    [InlineData("""{"alg":"ES256","kid":"x","\ud800":1}""")]
    public void Validate_HeaderWithEscapedLoneSurrogate_Malformed(string header)
    {
        // Found by fuzzing: a header is read before the signature is checked, and such a string made GetString throw (a 500).
        var token = $"{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header))}.{Encode(Part(IssueDefault(), 1))}.AAAA";

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(token).Status);
        Assert.Equal(RegistryTokenStatus.Malformed, Create().ValidateRefreshToken(token).Status);
    }

    [Fact]
    public void Validate_HeaderNotUtf8_Malformed()
    {
        byte[] header = [.. "{\"alg\":\"ES256\",\"kid\":\""u8, 0xff, 0xfe, .. "\"}"u8];
        var token = $"{Base64Url.EncodeToString(header)}.{Encode(Part(IssueDefault(), 1))}.AAAA";

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(token).Status);
    }

    [Fact]
    public void Validate_SignedPayloadWithLoneSurrogate_Malformed()
    {
        var payload = Part(IssueDefault(), 1).ToJsonString().Replace("\"sub\":\"alice\"", "\"sub\":\"\\ud800\"", StringComparison.Ordinal);
        Assert.Contains("ud800", payload, StringComparison.Ordinal);

        var token = SignRaw(Encode(Part(IssueDefault(), 0)), Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload)));

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(token).Status);
    }

    [Theory]
    [InlineData(299, RegistryTokenStatus.Valid)]
    [InlineData(300, RegistryTokenStatus.Valid)]
    [InlineData(329, RegistryTokenStatus.Valid)]
    [InlineData(330, RegistryTokenStatus.Expired)]
    [InlineData(86_400, RegistryTokenStatus.Expired)]
    public void Validate_AfterLifetime_ExpiredBeyondClockSkew(int secondsLater, RegistryTokenStatus expected)
    {
        var token = IssueDefault();

        _clock.Advance(TimeSpan.FromSeconds(secondsLater));

        Assert.Equal(expected, Create().Validate(token).Status);
    }

    [Theory]
    [InlineData(30, RegistryTokenStatus.Valid)]
    [InlineData(31, RegistryTokenStatus.NotYetValid)]
    [InlineData(120, RegistryTokenStatus.NotYetValid)]
    public void Validate_IssuedByNodeWithClockAhead_NotYetValidBeyondClockSkew(int secondsAhead, RegistryTokenStatus expected)
    {
        var ahead = new FakeTimeProvider(Start.AddSeconds(secondsAhead));
        var token = Create(clock: ahead).Issue("alice", []).Token;

        Assert.Equal(expected, Create().Validate(token).Status);
    }

    [Fact]
    public void Validate_WrongAudience_Refused()
    {
        var token = Create(service: "other.registry").Issue("alice", []).Token;

        Assert.Equal(RegistryTokenStatus.WrongAudience, Create().Validate(token).Status);
    }

    [Fact]
    public void Validate_WrongIssuer_Refused()
    {
        var token = Create(issuer: "someone-else").Issue("alice", []).Token;

        Assert.Equal(RegistryTokenStatus.WrongIssuer, Create().Validate(token).Status);
    }

    [Fact]
    public void Validate_AudienceArrayWithService_Valid()
    {
        var payload = Part(IssueDefault(), 1);
        payload["aud"] = new JsonArray("other", "registry.test");

        Assert.Equal(RegistryTokenStatus.Valid, Create().Validate(SignCustom(Part(IssueDefault(), 0), payload)).Status);
    }

    [Fact]
    public void Validate_AudienceArrayWithoutService_WrongAudience()
    {
        var payload = Part(IssueDefault(), 1);
        payload["aud"] = new JsonArray("other");

        Assert.Equal(RegistryTokenStatus.WrongAudience, Create().Validate(SignCustom(Part(IssueDefault(), 0), payload)).Status);
    }

    [Theory]
    [InlineData("exp")]
    [InlineData("iss")]
    [InlineData("aud")]
    public void Validate_RequiredClaimMissing_Malformed(string claim)
    {
        var payload = Part(IssueDefault(), 1);
        payload.Remove(claim);

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(SignCustom(Part(IssueDefault(), 0), payload)).Status);
    }

    [Theory]
    [InlineData("exp", "\"soon\"")]
    [InlineData("nbf", "\"now\"")]
    [InlineData("iat", "-1")]
    [InlineData("aud", "5")]
    [InlineData("aud", "[5]")]
    [InlineData("iss", "null")]
    public void Validate_ClaimOfWrongType_Malformed(string claim, string json)
    {
        var payload = Part(IssueDefault(), 1);
        payload[claim] = JsonNode.Parse(json);

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(SignCustom(Part(IssueDefault(), 0), payload)).Status);
    }

    [Fact]
    public void Validate_CritHeader_Malformed()
    {
        var header = Part(IssueDefault(), 0);
        header["crit"] = new JsonArray("exp");

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(SignCustom(header, Part(IssueDefault(), 1))).Status);
    }

    [Fact]
    public void Validate_DuplicateClaim_Malformed()
    {
        var token = IssueDefault();
        var payloadJson = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.Split('.')[1]));
        var duplicated = payloadJson.Replace("\"iss\":\"berth\"", "\"iss\":\"berth\",\"iss\":\"evil\"", StringComparison.Ordinal);

        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(SignRaw(token.Split('.')[0], Base64Url.EncodeToString(Encoding.UTF8.GetBytes(duplicated)))).Status);
    }

    [Fact]
    public void Validate_JunkAccessEntries_AreSkipped()
    {
        var payload = Part(IssueDefault(), 1);
        payload["access"] = JsonNode.Parse("""
            [
              {"type":"repository","name":"shop/api","actions":["pull","frobnicate"]},
              {"type":"repository","name":"BAD NAME","actions":["pull"]},
              {"type":"repository","name":"shop/web"},
              {"type":"image","name":"shop/web","actions":["pull"]},
              {"type":"registry","name":"catalog","actions":["pull"]},
              "string",
              {"type":"repository","name":"shop/api","actions":["delete", 3]}
            ]
            """);

        var result = Create().Validate(SignCustom(Part(IssueDefault(), 0), payload));

        Assert.Equal(RegistryTokenStatus.Valid, result.Status);
        Assert.Equal([new(Api, RegistryActions.Pull | RegistryActions.Delete)], result.Claims!.Permissions);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("..")]
    [InlineData(".e30.AAAA")]
    [InlineData("!!!.e30.AAAA")]
    [InlineData("e30=.e30.AAAA")]
    [InlineData("W10.e30.AAAA")]
    [InlineData("bm90IGpzb24.e30.AAAA")]
    public void Validate_NotACompactJws_Malformed(string? token)
    {
        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(token).Status);
    }

    [Fact]
    public void Validate_TooLong_Malformed()
    {
        Assert.Equal(RegistryTokenStatus.Malformed, Create().Validate(new string('a', RegistryTokenService.MaxTokenLength + 1)).Status);
    }

    [Fact]
    public void Validate_AfterRotation_OldAndNewTokensVerifyUntilOldKeyRemoved()
    {
        var service = Create();
        var before = service.Issue("alice", [new(Api, RegistryActions.Pull)]).Token;
        var oldKey = _ring.Current.Id;

        var newKey = _ring.Rotate();
        var after = service.Issue("alice", [new(Api, RegistryActions.Pull)]).Token;

        Assert.Equal(newKey.Id, (string?)Part(after, 0)["kid"]);
        Assert.Equal(RegistryTokenStatus.Valid, service.Validate(before).Status);
        Assert.Equal(RegistryTokenStatus.Valid, service.Validate(after).Status);

        _ring.Remove(oldKey);

        Assert.Equal(RegistryTokenStatus.UnknownKey, service.Validate(before).Status);
        Assert.Equal(RegistryTokenStatus.Valid, service.Validate(after).Status);
    }

    [Fact]
    public void Validate_PersistedKeyAfterRestart_StillVerifies()
    {
        using var temp = new TempFolder();
        string token;
        using (var ring = SigningKeyRing.LoadOrCreate(temp.Path))
        {
            token = Create(ring).Issue("alice", [new(Api, RegistryActions.Pull)]).Token;
        }

        using var restarted = SigningKeyRing.LoadOrCreate(temp.Path);

        Assert.Equal(RegistryTokenStatus.Valid, Create(restarted).Validate(token).Status);
    }

    [Fact]
    public void Constructor_ZeroLifetime_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RegistryTokenService(_ring, Options.Create(new RegistryTokenOptions { Lifetime = TimeSpan.Zero }), _clock, RandomNumberGenerator.Create()));
    }

    private static JsonObject Part(string token, int index) =>
        JsonNode.Parse(Base64Url.DecodeFromChars(token.Split('.')[index]))!.AsObject();

    private static string Encode(JsonNode node) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(node.ToJsonString()));

    private static string Replace(string token, int index, JsonNode part)
    {
        var parts = token.Split('.');
        parts[index] = Encode(part);
        return string.Join('.', parts);
    }

    /// <summary>Signs arbitrary header and payload with the ring's current key, as an attacker holding the key could.</summary>
    private string SignCustom(JsonNode header, JsonNode payload) => SignRaw(Encode(header), Encode(payload));

    private string SignRaw(string header, string payload)
    {
        var input = $"{header}.{payload}";
        return $"{input}.{Base64Url.EncodeToString(_ring.Current.Sign(Encoding.ASCII.GetBytes(input)))}";
    }
}
