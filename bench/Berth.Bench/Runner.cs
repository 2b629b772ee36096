using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Berth.Bench;

/// <summary>What one worker sees while running an operation: its op index and where to record timings.</summary>
internal sealed class OpContext(int worker)
{
    public int Worker { get; } = worker;

    public long Index { get; set; }

    /// <summary>False during warm-up: samples are dropped.</summary>
    public bool Measuring { get; set; }

    public List<long> Latencies { get; } = new(4096);

    public long Bytes { get; set; }

    /// <summary>Records one request that started at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Record(long started, long bytes)
    {
        if (!Measuring)
        {
            return;
        }

        Latencies.Add(Stopwatch.GetTimestamp() - started);
        Bytes += bytes;
    }
}

/// <summary>The outcome of one scenario run.</summary>
internal sealed class ScenarioResult
{
    public required string Scenario { get; init; }
    public required string Label { get; init; }
    public int Concurrency { get; init; }
    public long Requests { get; init; }
    public long Errors { get; init; }
    public double Seconds { get; init; }
    public long Bytes { get; init; }
    public long BlobSize { get; init; }
    public double P50 { get; init; }
    public double P90 { get; init; }
    public double P99 { get; init; }
    public double Max { get; init; }
    public bool PrimaryIsBytes { get; init; }
    public Dictionary<string, object> Extra { get; } = new(StringComparer.Ordinal);

    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;

    public double MegabytesPerSecond => Seconds > 0 ? Bytes / 1e6 / Seconds : 0;

    public string Unit => PrimaryIsBytes ? "MB/s" : "req/s";

    public double Primary => PrimaryIsBytes ? MegabytesPerSecond : RequestsPerSecond;

    public string ToText()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"[{Label}] {Scenario,-16} c={Concurrency,-3} req={Requests,-7} err={Errors,-3} ");
        sb.Append(CultureInfo.InvariantCulture, $"{RequestsPerSecond,9:F1} req/s {MegabytesPerSecond,9:F1} MB/s  ");
        sb.Append(CultureInfo.InvariantCulture, $"p50={P50:F2}ms p90={P90:F2}ms p99={P99:F2}ms max={Max:F2}ms ({Seconds:F2}s)");
        foreach (var (key, value) in Extra)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {key}={value}");
        }

        return sb.ToString();
    }

    public string ToJson(int round)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("type", "result");
            w.WriteString("label", Label);
            w.WriteString("scenario", Scenario);
            w.WriteNumber("round", round);
            w.WriteString("time", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber("concurrency", Concurrency);
            w.WriteNumber("blob_size", BlobSize);
            w.WriteNumber("requests", Requests);
            w.WriteNumber("errors", Errors);
            w.WriteNumber("seconds", Math.Round(Seconds, 4));
            w.WriteNumber("bytes", Bytes);
            w.WriteNumber("req_per_s", Math.Round(RequestsPerSecond, 2));
            w.WriteNumber("mb_per_s", Math.Round(MegabytesPerSecond, 2));
            w.WriteString("unit", Unit);
            w.WriteNumber("primary", Math.Round(Primary, 2));
            w.WriteNumber("p50_ms", Math.Round(P50, 3));
            w.WriteNumber("p90_ms", Math.Round(P90, 3));
            w.WriteNumber("p99_ms", Math.Round(P99, 3));
            w.WriteNumber("max_ms", Math.Round(Max, 3));
            foreach (var (key, value) in Extra)
            {
                switch (value)
                {
                    case long l: w.WriteNumber(key, l); break;
                    case int i: w.WriteNumber(key, i); break;
                    case double d: w.WriteNumber(key, d); break;
                    case bool b: w.WriteBoolean(key, b); break;
                    default: w.WriteString(key, value.ToString()); break;
                }
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

/// <summary>
/// Runs an operation from <c>concurrency</c> workers until the duration is over or <c>count</c> operations have
/// started, after an optional warm-up whose samples are dropped. Errors are counted and the first few printed.
/// </summary>
internal sealed class LoadRunner
{
    private const int MaxPrintedErrors = 5;
    private const int MaxErrorsBeforeAbort = 200;
    private long _errors;
    private long _next = -1;

    public long Errors => Interlocked.Read(ref _errors);

    public async Task<(List<long> Latencies, long Bytes, double Seconds)> RunAsync(
        int concurrency, TimeSpan warmup, TimeSpan duration, long? count, Func<OpContext, CancellationToken, Task> op, CancellationToken cancellationToken)
    {
        var contexts = Enumerable.Range(0, concurrency).Select(i => new OpContext(i)).ToArray();
        if (warmup > TimeSpan.Zero)
        {
            await RunPhaseAsync(contexts, warmup, null, op, cancellationToken).ConfigureAwait(false);
            foreach (var c in contexts)
            {
                c.Latencies.Clear();
                c.Bytes = 0;
            }
        }

        var started = Stopwatch.GetTimestamp();
        var ended = await RunPhaseAsync(contexts, duration, count, op, cancellationToken, measuring: true).ConfigureAwait(false);
        var latencies = new List<long>(contexts.Sum(c => c.Latencies.Count));
        foreach (var c in contexts)
        {
            latencies.AddRange(c.Latencies);
        }

        return (latencies, contexts.Sum(c => c.Bytes), Stopwatch.GetElapsedTime(started, ended).TotalSeconds);
    }

    private async Task<long> RunPhaseAsync(OpContext[] contexts, TimeSpan duration, long? count, Func<OpContext, CancellationToken, Task> op, CancellationToken cancellationToken, bool measuring = false)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var limit = count.HasValue ? Interlocked.Read(ref _next) + count.Value : long.MaxValue;
        long lastEnd = Stopwatch.GetTimestamp();
        var tasks = contexts.Select(async context =>
        {
            await Task.Yield();
            context.Measuring = measuring;
            while (!cancellationToken.IsCancellationRequested && Stopwatch.GetTimestamp() < deadline && Errors < MaxErrorsBeforeAbort)
            {
                var index = Interlocked.Increment(ref _next);
                if (index > limit)
                {
                    break;
                }

                context.Index = index;
                try
                {
                    await op(context, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    ReportError(ex);
                }
            }

            var end = Stopwatch.GetTimestamp();
            long seen;
            while ((seen = Interlocked.Read(ref lastEnd)) < end && Interlocked.CompareExchange(ref lastEnd, end, seen) != seen)
            {
            }
        }).ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return Interlocked.Read(ref lastEnd);
    }

    public void ReportError(Exception ex)
    {
        var n = Interlocked.Increment(ref _errors);
        if (n <= MaxPrintedErrors)
        {
            Console.Error.WriteLine($"  error #{n}: {Describe(ex)}");
        }
        else if (n == MaxPrintedErrors + 1)
        {
            Console.Error.WriteLine("  (further errors counted, not printed)");
        }
    }

    /// <summary>The message chain of an exception, without stack traces.</summary>
    public static string Describe(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            parts.Add(e is BenchException ? e.Message : $"{e.GetType().Name}: {e.Message}");
        }

        return string.Join(" <- ", parts);
    }

    public static ScenarioResult Summarize(string scenario, string label, int concurrency, long blobSize, bool primaryIsBytes, List<long> latencies, long bytes, double seconds, long errors)
    {
        latencies.Sort();
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        double Percentile(double p) => latencies.Count == 0 ? 0 : Ms(latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Count) - 1, 0, latencies.Count - 1)]);
        return new ScenarioResult
        {
            Scenario = scenario,
            Label = label,
            Concurrency = concurrency,
            Requests = latencies.Count,
            Errors = errors,
            Seconds = seconds,
            Bytes = bytes,
            BlobSize = blobSize,
            P50 = Percentile(0.50),
            P90 = Percentile(0.90),
            P99 = Percentile(0.99),
            Max = latencies.Count == 0 ? 0 : Ms(latencies[^1]),
            PrimaryIsBytes = primaryIsBytes,
        };
    }
}

/// <summary>Memory of a local server process, from /proc/PID/status.</summary>
internal static class ProcessMemory
{
    /// <summary>(VmRSS, VmHWM) in KiB, or null when the process cannot be read.</summary>
    public static (long Rss, long Hwm)? Read(int pid)
    {
        try
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = ParseKb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = ParseKb(line);
                }
            }

            return (rss, hwm);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long ParseKb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

/// <summary>CPU seconds used so far: by a server process, by this process, by the whole machine (busy, not idle).</summary>
internal readonly record struct CpuUse(double Wall, double Server, double Self, double MachineBusy)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on

    public static CpuUse operator -(CpuUse a, CpuUse b) => new(a.Wall - b.Wall, a.Server - b.Server, a.Self - b.Self, a.MachineBusy - b.MachineBusy);

    public static CpuUse Read(int? serverPid)
    {
        var wall = System.Diagnostics.Stopwatch.GetTimestamp() / (double)System.Diagnostics.Stopwatch.Frequency;
        var self = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        double server = 0;
        if (serverPid is { } pid)
        {
            try
            {
                // utime and stime are the 14th and 15th fields; the command name (2nd) may hold spaces, so count after ')'.
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                server = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            }
            catch (IOException)
            {
            }
        }

        double busy = 0;
        try
        {
            // cpu  user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
            var line = File.ReadLines("/proc/stat").First();
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            busy = (parts.Sum() - parts[3] - parts[4]) / TicksPerSecond;
        }
        catch (IOException)
        {
        }

        return new CpuUse(wall, server, self, busy);
    }
}
