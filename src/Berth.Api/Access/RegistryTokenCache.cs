using System.Collections.Concurrent;
using Berth.Auth.Jwt;
using Microsoft.Extensions.Options;

namespace Berth.Api.Access;

/// <summary>
/// The registry tokens /v2 has checked. A client sends the same registry token with every request of a push or pull;
/// its signature is checked once (an ECDSA verification costs more than the rest of a manifest HEAD) and the claims
/// are reused until the token expires (plus the clock skew). Only valid tokens are remembered, under the whole token
/// text, at most <see cref="MaxValidatedTokens"/> (then the cache starts over). The lookup takes the token as it sits
/// in the header, so a hit allocates nothing.
/// </summary>
public sealed class RegistryTokenCache
{
    private const int MaxValidatedTokens = 10_000;

    private readonly ConcurrentDictionary<string, RegistryTokenValidation> _validated = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RegistryTokenValidation>.AlternateLookup<ReadOnlySpan<char>> _byText;
    private readonly RegistryTokenService _tokens;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _clockSkew;

    public RegistryTokenCache(RegistryTokenService tokens, IOptions<RegistryTokenOptions> options, TimeProvider clock)
    {
        _tokens = tokens;
        _clock = clock;
        _clockSkew = options.Value.ClockSkew;
        _byText = _validated.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The token's claims when it is valid now; otherwise why not (<see cref="RegistryTokenService.Validate"/>). Never throws for bad input.</summary>
    public RegistryTokenValidation Validate(ReadOnlySpan<char> token)
    {
        if (_byText.TryGetValue(token, out var cached))
        {
            if (_clock.GetUtcNow() < cached.Claims!.ExpiresAt + _clockSkew)
            {
                return cached;
            }

            _byText.TryRemove(token, out _);
        }

        var text = token.ToString();
        var validation = _tokens.Validate(text);
        if (validation.IsValid)
        {
            if (_validated.Count >= MaxValidatedTokens)
            {
                _validated.Clear();
            }

            _validated[text] = validation;
        }

        return validation;
    }
}
