using Berth.Core.Access;

namespace Berth.Auth.Tokens;

/// <summary>A token just created: the record to store, and the secret text to show once and then forget.</summary>
public sealed record NewAccessToken(AccessToken Token, string Secret);
