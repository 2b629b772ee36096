namespace Berth.Signing.Keys;

/// <summary>A key or certificate file that cannot be read: not PEM, an unsupported algorithm, or a wrong passphrase.</summary>
public sealed class KeyFormatException : Exception
{
    public KeyFormatException()
    {
    }

    public KeyFormatException(string message)
        : base(message)
    {
    }

    public KeyFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
