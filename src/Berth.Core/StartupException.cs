namespace Berth.Core;

/// <summary>
/// The server (or an offline <c>berth admin</c> command) cannot start with the configuration or the environment it
/// was given: a missing or unreadable file, a data folder that is not one, a port in use, a setting that breaks a
/// rule. The message is one line for the operator that names the setting and the cause; the command prints it
/// without a stack trace and exits with code 1.
/// </summary>
public sealed class StartupException : Exception
{
    public StartupException(string message)
        : base(message)
    {
    }

    public StartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
