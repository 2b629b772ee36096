using System.Security.Cryptography;
using Berth.Auth.Passwords;
using Berth.Core;
using Berth.Core.Access;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Access;

/// <summary>
/// There is no default password. When the server starts without any enabled administrator (a new data folder), it
/// makes the user <c>admin</c> an administrator with the password from <c>BERTH_ADMIN_PASSWORD</c>, or with a
/// generated one that it prints once in the log. Later starts change nothing (use <c>berth admin reset-password</c>),
/// and say so in the log when <c>BERTH_ADMIN_PASSWORD</c> is set. A <c>BERTH_ADMIN_PASSWORD</c> that breaks the
/// password rules (<see cref="PasswordProblem"/>) stops the first start with a <see cref="StartupException"/>.
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
        var generated = string.IsNullOrEmpty(_settings.AdminPassword);
        if (await _users.CountAdministratorsAsync(cancellationToken) > 0)
        {
            if (!generated)
            {
                LogPasswordIgnored(_logger);
            }

            return;
        }

        if (!generated && PasswordProblem(_settings.AdminPassword!) is { } problem)
        {
            throw new StartupException($"BERTH_ADMIN_PASSWORD {problem} (it becomes the password of '{AdminName}' on this first start)");
        }

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

    /// <summary>What is wrong with <paramref name="password"/> by the rules of passwords set through the API (e.g. "must be at least 8 characters"); null when it is fine.</summary>
    public static string? PasswordProblem(string password) => Passwords.Check(password);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning,
        Message = "First start: created the administrator '{User}' with the generated password {Password} (shown only this once; change it with 'berth user passwd', or set BERTH_ADMIN_PASSWORD on a new data folder)")]
    private static partial void LogGenerated(ILogger logger, string user, string password);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "First start: created the administrator '{User}' with the password from BERTH_ADMIN_PASSWORD")]
    private static partial void LogFromEnvironment(ILogger logger, string user);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning,
        Message = "BERTH_ADMIN_PASSWORD is set but ignored: this data folder already has an administrator, and the variable only sets the first one (change a password with 'berth user passwd' or 'berth admin reset-password')")]
    private static partial void LogPasswordIgnored(ILogger logger);
}
