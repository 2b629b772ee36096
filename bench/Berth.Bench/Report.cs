using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Berth.Bench;

/// <summary>Builds the markdown tables of bench/compare.sh from the JSON lines of many runs: medians over rounds.</summary>
internal static class Report
{
    /// <summary>Which targets the report checks: the performance issue's against the reference (<c>default</c>), issue 12's
    /// against the reference on the same S3 server (<c>scale-out</c>), or issue 12's PostgreSQL against SQLite for Berth
    /// itself (<c>metadata</c>: A is SQLite, B is PostgreSQL).</summary>
    public enum TargetSet
    {
        Default,
        ScaleOut,
        Metadata,
    }

    public static TargetSet ParseTargets(string name) => name switch
    {
        "default" => TargetSet.Default,
        "scale-out" => TargetSet.ScaleOut,
        "metadata" => TargetSet.Metadata,
        _ => throw new ArgumentException($"--targets is default, scale-out or metadata, not '{name}'"),
    };

    private sealed record Row(string Label, string Scenario, string Unit, double Primary, double P50, double P90, double P99, long Errors, int Concurrency,
        double? CpuPerMb = null, double? CpuServer = null, double? MachineBusy = null);

    private sealed record Aggregate(string Unit, double Primary, double P50, double P90, double P99, long Errors, int Runs, int Concurrency);

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static double? Optional(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    public static int Print(string input, string[]? labels, TargetSet? targets = TargetSet.Default)
    {
        var rows = new List<Row>();
        var rss = new List<(string Label, string Tag, long Rss, long Hwm)>();
        var environment = new List<(string Tag, string Text)>();
        foreach (var line in File.ReadLines(input))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            switch (r.GetProperty("type").GetString())
            {
                case "result":
                    rows.Add(new Row(r.GetProperty("label").GetString()!, r.GetProperty("scenario").GetString()!, r.GetProperty("unit").GetString()!,
                        r.GetProperty("primary").GetDouble(), r.GetProperty("p50_ms").GetDouble(), r.GetProperty("p90_ms").GetDouble(),
                        r.GetProperty("p99_ms").GetDouble(), r.GetProperty("errors").GetInt64(), r.GetProperty("concurrency").GetInt32(),
                        Optional(r, "cpu_server_ms_per_mb"), Optional(r, "cpu_server"), Optional(r, "cpu_machine_busy")));
                    break;
                case "env":
                    environment.Add((r.GetProperty("tag").GetString()!, r.GetProperty("text").GetString()!));
                    break;
                case "rss":
                    rss.Add((r.GetProperty("label").GetString()!, r.GetProperty("tag").GetString()!, r.GetProperty("rss_kb").GetInt64(), r.GetProperty("hwm_kb").GetInt64()));
                    break;
            }
        }

        labels ??= rows.Select(r => r.Label).Distinct().ToArray();
        if (labels.Length == 0)
        {
            Console.Error.WriteLine("berth-bench: no results in " + input);
            return 1;
        }

        var a = labels[0];
        var b = labels.Length > 1 ? labels[1] : null;
        var s = labels.Length > 2 ? labels[2] : null;
        var scenarios = rows.Select(r => r.Scenario).Distinct().ToList();
        var agg = rows.GroupBy(r => (r.Scenario, r.Label)).ToDictionary(g => g.Key, g => new Aggregate(
            g.First().Unit, Median(g.Select(x => x.Primary)), Median(g.Select(x => x.P50)), Median(g.Select(x => x.P90)),
            Median(g.Select(x => x.P99)), g.Sum(x => x.Errors), g.Count(), g.First().Concurrency));
        Aggregate? Get(string scenario, string? label) => label is not null && agg.TryGetValue((scenario, label), out var v) ? v : null;

        var sb = new StringBuilder();
        var rounds = agg.Values.Count == 0 ? 0 : agg.Values.Max(v => v.Runs);
        sb.AppendLine(Inv, $"Throughput and latency: median over each scenario's runs (up to {rounds}); ratio = {a} / {b ?? "-"}{(s is null ? string.Empty : $" and {a} / {s}")}; errors summed over rounds.");
        if (environment.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(string.Join("; ", environment.Select(e => $"{e.Tag}: {e.Text}")) + ".");
        }

        sb.AppendLine();
        var header = $"| scenario | c | unit | {a} | {b ?? "-"} | {a}/{b ?? "-"} | {a} p50 / p90 / p99 ms | {b ?? "-"} p50 / p90 / p99 ms |";
        var rule = "|---|---:|---|---:|---:|---:|---:|---:|";
        if (s is not null)
        {
            header += $" {s} | {a}/{s} |";
            rule += "---:|---:|";
        }

        sb.AppendLine(header + " errors |");
        sb.AppendLine(rule + "---:|");
        foreach (var scenario in scenarios)
        {
            var va = Get(scenario, a);
            var vb = Get(scenario, b);
            var vs = Get(scenario, s);
            var unit = (va ?? vb ?? vs)!.Unit;
            var line = $"| {scenario} | {(va ?? vb ?? vs)!.Concurrency} | {unit} | {Num(va?.Primary)} | {Num(vb?.Primary)} | {Ratio(va?.Primary, vb?.Primary)} | {Lat(va)} | {Lat(vb)} |";
            if (s is not null)
            {
                line += $" {Num(vs?.Primary)} | {Ratio(va?.Primary, vs?.Primary)} |";
            }

            var errors = string.Join(" / ", new[] { va, vb, vs }.Where(v => v is not null).Select(v => v!.Errors.ToString(Inv)));
            sb.AppendLine(line + $" {errors} |");
        }

        var cpuRows = rows.Where(r => r.CpuPerMb is not null).ToList();
        if (cpuRows.Count > 0)
        {
            // Where the CPU went: on a shared machine, CPU a server spends per byte is CPU its storage server lacks.
            sb.AppendLine();
            sb.AppendLine("CPU during the measured runs (medians): the server's CPU milliseconds per MB moved, the server's and the whole machine's busy CPUs (of " + Environment.ProcessorCount.ToString(Inv) + ").");
            sb.AppendLine();
            sb.AppendLine("| scenario | server | server CPU ms/MB | server CPUs busy | machine CPUs busy |");
            sb.AppendLine("|---|---|---:|---:|---:|");
            foreach (var group in cpuRows.GroupBy(r => (r.Scenario, r.Label)))
            {
                sb.AppendLine(Inv, $"| {group.Key.Scenario} | {group.Key.Label} | {Median(group.Select(r => r.CpuPerMb!.Value)):F3} | {Median(group.Select(r => r.CpuServer ?? 0)):F2} | {Median(group.Select(r => r.MachineBusy ?? 0)):F2} |");
            }
        }

        if (rss.Count > 0)
        {
            var tags = rss.Select(x => x.Tag).Distinct().ToList();
            sb.AppendLine();
            sb.AppendLine("Server memory, MiB: VmHWM (peak resident set since start) at each point; the last column is the final peak.");
            sb.AppendLine();
            sb.AppendLine("| server | " + string.Join(" | ", tags.Select(t => $"peak at {t}")) + " | final VmRSS |");
            sb.AppendLine("|---|" + string.Concat(tags.Select(_ => "---:|")) + "---:|");
            foreach (var label in rss.Select(x => x.Label).Distinct())
            {
                var cells = tags.Select(t => rss.LastOrDefault(x => x.Label == label && x.Tag == t) is { Label: not null } m ? (m.Hwm / 1024.0).ToString("F1", Inv) : "-");
                var last = rss.Last(x => x.Label == label);
                sb.AppendLine($"| {label} | {string.Join(" | ", cells)} | {(last.Rss / 1024.0).ToString("F1", Inv)} |");
            }
        }

        if (b is not null && targets is { } set)
        {
            sb.AppendLine();
            sb.AppendLine(set switch
            {
                TargetSet.ScaleOut => ScaleOutTargets(a, b, Get, rss),
                TargetSet.Metadata => MetadataTargets(a, b, Get),
                _ => Targets(a, b, s, Get, rss),
            });
        }

        Console.Write(sb.ToString());
        return 0;
    }

    private static string Targets(string a, string b, string? s, Func<string, string?, Aggregate?> get, List<(string Label, string Tag, long Rss, long Hwm)> rss)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| target | scenario | measured | required | met |");
        sb.AppendLine("|---|---|---:|---|---|");
        void Add(string target, string scenario, string measured, string required, bool? met) =>
            sb.AppendLine($"| {target} | {scenario} | {measured} | {required} | {(met is null ? "not run" : met.Value ? "yes" : "**no**")} |");

        void RatioTarget(string target, string scenario, string? against, double required)
        {
            var va = get(scenario, a);
            var vb = get(scenario, against);
            double? ratio = va is not null && vb is not null && vb.Primary > 0 ? va.Primary / vb.Primary : null;
            Add(target, scenario, ratio is null ? "-" : $"{ratio.Value.ToString("F2", Inv)}x {against}", $">= {required.ToString("0.0#", Inv)}x {against}", ratio is null ? null : ratio >= required);
        }

        foreach (var scenario in new[] { "push-4k", "push-1m", "pull-4k", "pull-1m", "blob-head" })
        {
            RatioTarget("small-request overhead", scenario, b, 2.0);
        }

        foreach (var scenario in new[] { "pull-64m@2", "pull-64m@8", "pull-100mb@2", "pull-100mb@8" })
        {
            if (s is not null)
            {
                RatioTarget("large pull vs static file", scenario, s, 0.9);
            }

            RatioTarget("large pull vs reference", scenario, b, 1.0);
        }

        foreach (var scenario in new[] { "push-64m", "push-100mb", "chunked-64m", "chunked-100mb" })
        {
            RatioTarget("large push", scenario, b, 1.3);
        }

        foreach (var scenario in new[] { "manifest-get", "manifest-head" })
        {
            RatioTarget("manifest by tag, c=32", scenario, b, 3.0);
            var va = get(scenario, a);
            var vb = get(scenario, b);
            Add("manifest by tag, c=32", scenario, va is null || vb is null ? "-" : $"{a} p99 {va.P99.ToString("F2", Inv)} ms vs {b} p50 {vb.P50.ToString("F2", Inv)} ms",
                $"{a} p99 <= {b} p50", va is null || vb is null ? null : va.P99 <= vb.P50);
        }

        foreach (var scenario in new[] { "tags-list", "catalog" })
        {
            RatioTarget("listing at 10,000 x 10", scenario, b, 5.0);
        }

        foreach (var scenario in new[] { "catalog-first", "catalog-last" })
        {
            RatioTarget("listing at 10,000 x 10", scenario, b, 5.0);
            var va = get(scenario, a);
            Add("listing at 10,000 x 10", scenario, va is null ? "-" : $"{a} p99 {va.P99.ToString("F2", Inv)} ms", "p99 < 20 ms", va is null ? null : va.P99 < 20);
        }

        var mine = rss.Where(x => x.Label == a).ToList();
        if (mine.Count > 0)
        {
            var peak = mine.Max(x => x.Hwm) * 1024L;
            Add("memory", "peak RSS over the whole run", $"{(peak / 1e6).ToString("F1", Inv)} MB", "<= 250 MB", peak <= 250_000_000);
            var small = mine.LastOrDefault(x => x.Tag == "after-stream-10mb");
            var large = mine.LastOrDefault(x => x.Tag == "after-stream-1gb");
            if (small.Label is not null && large.Label is not null)
            {
                var growth = (large.Hwm - small.Hwm) / 1024.0;
                Add("memory", "peak after stream-1gb vs after stream-10mb", $"+{growth.ToString("F1", Inv)} MiB", "no growth (<= +10 MiB noise)", growth <= 10);
            }
        }

        return sb.ToString();
    }

    /// <summary>Issue 12: Berth on PostgreSQL + S3 against the reference registry on the same S3 server.</summary>
    private static string ScaleOutTargets(string a, string b, Func<string, string?, Aggregate?> get, List<(string Label, string Tag, long Rss, long Hwm)> rss)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| target (issue 12, scale-out) | scenario | measured | required | met |");
        sb.AppendLine("|---|---|---:|---|---|");
        void Add(string target, string scenario, string measured, string required, bool? met) =>
            sb.AppendLine($"| {target} | {scenario} | {measured} | {required} | {(met is null ? "not run" : met.Value ? "yes" : "**no**")} |");

        void RatioTarget(string target, string scenario, double required)
        {
            var va = get(scenario, a);
            var vb = get(scenario, b);
            double? ratio = va is not null && vb is not null && vb.Primary > 0 ? va.Primary / vb.Primary : null;
            Add(target, scenario, ratio is null ? "-" : $"{ratio.Value.ToString("F2", Inv)}x {b}", $">= {required.ToString("0.0#", Inv)}x {b}", ratio is null ? null : ratio >= required);
        }

        foreach (var scenario in new[] { "push-4k", "push-1m", "pull-4k", "pull-1m", "blob-head", "manifest-put" })
        {
            RatioTarget("small requests", scenario, 2.0);
        }

        foreach (var scenario in new[] { "manifest-get", "manifest-head" })
        {
            RatioTarget("manifest GET/HEAD", scenario, 2.0);
        }

        foreach (var scenario in new[] { "tags-list", "catalog", "catalog-first", "catalog-last" })
        {
            RatioTarget("tags list and catalog", scenario, 10.0);
        }

        foreach (var scenario in new[] { "push-64m", "push-100mb", "chunked-64m", "chunked-100mb" })
        {
            RatioTarget("large push", scenario, 1.0);
        }

        foreach (var scenario in new[] { "pull-64m@2", "pull-64m@8", "pull-100mb@2", "pull-100mb@8" })
        {
            RatioTarget("large pull", scenario, 1.0);
        }

        var mine = rss.Where(x => x.Label == a).ToList();
        var small = mine.LastOrDefault(x => x.Tag == "after-stream-10mb");
        var large = mine.LastOrDefault(x => x.Tag == "after-stream-1gb");
        if (small.Label is not null && large.Label is not null)
        {
            var growth = (large.Hwm - small.Hwm) / 1024.0;
            Add("bounded memory", "peak after stream-1gb vs after stream-10mb", $"+{growth.ToString("F1", Inv)} MiB", "no growth (<= +10 MiB noise)", growth <= 10);
        }

        return sb.ToString();
    }

    /// <summary>Issue 12, item 1: Berth on PostgreSQL (<paramref name="b"/>) within 2x of Berth on SQLite (<paramref name="a"/>)
    /// for small pushes and manifest writes, i.e. B reaches at least half of A's rate.</summary>
    private static string MetadataTargets(string a, string b, Func<string, string?, Aggregate?> get)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| target (issue 12, metadata) | scenario | measured | required | met |");
        sb.AppendLine("|---|---|---:|---|---|");
        foreach (var scenario in new[] { "push-4k", "push-1m", "manifest-put" })
        {
            var va = get(scenario, a);
            var vb = get(scenario, b);
            double? ratio = va is not null && vb is not null && va.Primary > 0 ? vb.Primary / va.Primary : null;
            var target = scenario == "manifest-put" ? "manifest writes" : "small pushes";
            var met = ratio is null ? "not run" : ratio >= 0.5 ? "yes" : "**no**";
            sb.AppendLine($"| {target} within 2x | {scenario} | {(ratio is null ? "-" : $"{b} at {ratio.Value.ToString("F2", Inv)}x {a}")} | >= 0.5x {a} | {met} |");
        }

        return sb.ToString();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Num(double? value) => value switch
    {
        null => "-",
        >= 100 => value.Value.ToString("F0", Inv),
        >= 10 => value.Value.ToString("F1", Inv),
        _ => value.Value.ToString("F2", Inv),
    };

    private static string Ratio(double? x, double? y) => x is null || y is null || y == 0 ? "-" : (x.Value / y.Value).ToString("F2", Inv) + "x";

    private static string Lat(Aggregate? v) => v is null ? "-" : $"{v.P50.ToString("F2", Inv)} / {v.P90.ToString("F2", Inv)} / {v.P99.ToString("F2", Inv)}";
}
