namespace Berth.Core;

/// <summary>Registry behaviour settings (section <c>Berth</c> of the configuration).</summary>
public sealed class RegistryOptions
{
    public const string Section = "Berth";

    /// <summary>Largest manifest body accepted, in bytes. The OCI spec asks registries to accept at least 4 MiB.</summary>
    public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Upload sessions idle for longer than this are removed with their data.</summary>
    public TimeSpan UploadExpiry { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often abandoned uploads are looked for.</summary>
    public TimeSpan UploadSweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest page size for tag and catalog listings; larger requests are cut to this (with a Link to the rest).</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Largest blob accepted, in bytes; 0 means no limit.</summary>
    public long MaxBlobBytes { get; set; }

    /// <summary>The quota in bytes a new project gets (<c>--default-quota</c>); 0 means none (unlimited).</summary>
    public long DefaultQuotaBytes { get; set; }
}
