using System.Security.Cryptography;
using Berth.Auth.Passwords;
using Berth.Core.Access;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Api.Access;

/// <summary>
/// There is no default password. When the server starts without any enabled administrator (a new data folder), it
/// makes the user <c>admin</c> an administrator with the password from <c>BERTH_ADMIN_PASSWORD</c>, or with a
/// generated one that it prints once in the log. Later starts change nothing (use <c>berth admin reset-password</c>).
/// </summary>
public sealed partial class AdminBootstrap : IHostedService
{
    public const string AdminName = "admin";
    private const int GeneratedLength = 24;
    private const string Alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    private readonly IUserStore _users;
    private readonly PasswordHasher _hasher;
    private readonly AccessSettings _settings;
    private readonly ILogger<AdminBootstrap> _logger;

    public AdminBootstrap(IUserStore users, PasswordHasher hasher, IOptions<AccessSettings> settings, ILogger<AdminBootstrap> logger)
    {
        _users = users;
        _hasher = hasher;
        _settings = settings.Value;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await _users.CountAdministratorsAsync(cancellationToken) > 0)
        {
            return;
        }

        var generated = string.IsNullOrEmpty(_settings.AdminPassword);
        var password = generated ? GeneratePassword() : _settings.AdminPassword!;
        await EnsureAdministratorAsync(_users, _hasher, password, cancellationToken);
        if (generated)
        {
            LogGenerated(_logger, AdminName, password);
        }
        else
        {
            LogFromEnvironment(_logger, AdminName);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Creates <c>admin</c> (or updates it) as an enabled administrator with <paramref name="password"/>.</summary>
    public static async Task EnsureAdministratorAsync(IUserStore users, PasswordHasher hasher, string password, CancellationToken cancellationToken, string name = AdminName)
    {
        var userName = UserName.Parse(name);
        var hash = hasher.Hash(password);
        var existing = await users.GetAsync(userName, cancellationToken);
        if (existing is null)
        {
            var created = await users.CreateAsync(userName, hash, isAdministrator: true, cancellationToken);
            if (created.Status == UserCreateStatus.Created)
            {
                return;
            }

            existing = await users.GetAsync(userName, cancellationToken) ?? throw new InvalidOperationException($"could not create the user {name}");
        }

        await users.SetPasswordHashAsync(existing.Id, hash, cancellationToken);
        await users.SetDisabledAsync(existing.Id, false, cancellationToken);
        await users.SetAdministratorAsync(existing.Id, true, cancellationToken);
    }

    public static string GeneratePassword() => RandomNumberGenerator.GetString(Alphabet, GeneratedLength);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning,
        Message = "First start: created the administrator '{User}' with the generated password {Password} (shown only this once; change it with 'berth user passwd', or set BERTH_ADMIN_PASSWORD on a new data folder)")]
    private static partial void LogGenerated(ILogger logger, string user, string password);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "First start: created the administrator '{User}' with the password from BERTH_ADMIN_PASSWORD")]
    private static partial void LogFromEnvironment(ILogger logger, string user);
}
