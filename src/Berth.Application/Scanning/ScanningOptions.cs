namespace Berth.Application.Scanning;

/// <summary>
/// The registry's scanner runtime (section <c>Berth:Scanning</c>): whether this node scans at all, how many scans it runs
/// at once, how long a claim on a queued digest lasts before another node may take it over, and how often the queue and
/// the advisory database are looked at.
/// </summary>
public sealed class ScanningOptions
{
    public const string Section = "Berth:Scanning";

    /// <summary>False: this node neither queues scans at push nor runs the queue nor re-matches after imports.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Scans this node runs at once (1 to <see cref="MaxConcurrency"/>); each reads its layers as a stream.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>
    /// How long a claim lasts without renewal: a scanning node renews it every third of this; a node that dies leaves its
    /// claim to lapse, and another node takes the digest over after it.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the queue is looked at when it was found empty (the first look one interval after start).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often stored inventories are compared with the advisory database's version (and re-matched when older).</summary>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromMinutes(1);

    public const int MaxConcurrency = 64;
}
