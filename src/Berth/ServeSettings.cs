namespace Berth;

/// <summary>Settings of <c>berth serve</c> (configuration section <c>Berth</c>), filled from flags, environment and config file.</summary>
public sealed class ServeSettings
{
    /// <summary>
    /// Listen URLs, comma-separated: <c>http://HOST:PORT</c> or <c>https://HOST:PORT</c>. The default listens on every
    /// IPv6 and IPv4 address (<c>*</c>, see <see cref="BerthServer.ParseListen"/>).
    /// </summary>
    public string Listen { get; set; } = "http://*:5000";

    /// <summary>The data folder: <c>berth.db</c> and <c>blobs/</c>, <c>uploads/</c> below it.</summary>
    public string Data { get; set; } = "data";

    public string? TlsCertificate { get; set; }

    public string? TlsKey { get; set; }

    /// <summary>Send whole blobs on plain-HTTP connections with <c>sendfile(2)</c> (<see cref="Api.Hosting.FileSendConnections"/>).</summary>
    public bool SendFile { get; set; } = true;
}
