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

    /// <summary>
    /// Garbage collection's grace window: an unreferenced blob is collected only when its row, every link of it and its
    /// bytes are older than this (uploads, links, mounts and HEADs renew it). At least <see cref="MinGcGrace"/>.
    /// </summary>
    public TimeSpan GcGrace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Time between scheduled garbage collections (the first one after this much time up); zero: only on demand.</summary>
    public TimeSpan GcInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>The shortest grace window accepted: a shorter setting is raised to it.</summary>
    public static readonly TimeSpan MinGcGrace = TimeSpan.FromSeconds(1);

    /// <summary><see cref="GcGrace"/>, never below <see cref="MinGcGrace"/>.</summary>
    public TimeSpan EffectiveGcGrace => GcGrace < MinGcGrace ? MinGcGrace : GcGrace;
    /// <summary>The quota in bytes a new project gets (<c>--default-quota</c>); 0 means none (unlimited).</summary>
    public long DefaultQuotaBytes { get; set; }
}
