using System.Diagnostics;
using System.Globalization;

namespace Berth.Migration;

/// <summary>
/// Progress of the blob copy on standard error: on a terminal one line rewritten in place (at most 5 times a second),
/// otherwise (a log file, a pipe) a line each time another 5% of the bytes is done or 10 s have passed.
/// </summary>
internal sealed class MigrationProgress(TextWriter error, bool terminal, int totalBlobs, long totalBytes)
{
    private static readonly TimeSpan TerminalInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastShown = TimeSpan.MinValue;
    private long _lastStep = -1;
    private int _blobs;
    private long _bytes;

    /// <summary>Bytes of the blobs copied or verified so far.</summary>
    public long Bytes => _bytes;

    /// <summary>Bytes moved (a blob's bytes as they are read).</summary>
    public void AddBytes(long count)
    {
        _bytes += count;
        Show(false);
    }

    /// <summary>One more blob done (copied, verified or found missing).</summary>
    public void BlobDone()
    {
        _blobs++;
        Show(_blobs == totalBlobs);
    }

    /// <summary>Ends the terminal's line.</summary>
    public void Finish()
    {
        if (terminal && _lastShown != TimeSpan.MinValue)
        {
            error.WriteLine();
        }
    }

    private void Show(bool last)
    {
        var now = _clock.Elapsed;
        var step = totalBytes == 0 ? 20 : _bytes * 20 / totalBytes;
        var due = terminal
            ? last || _lastShown == TimeSpan.MinValue || now - _lastShown >= TerminalInterval
            : last || step > _lastStep || now - _lastShown >= LogInterval;
        if (!due)
        {
            return;
        }

        _lastShown = now;
        _lastStep = step;
        var rate = now.TotalSeconds > 0 ? _bytes / now.TotalSeconds : 0;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"blobs {_blobs}/{totalBlobs}, {Size(_bytes)} of {Size(totalBytes)} ({(totalBytes == 0 ? 100 : _bytes * 100 / totalBytes)}%), {Size((long)rate)}/s");
        if (terminal)
        {
            error.Write("\r\u001b[K" + line);
        }
        else
        {
            error.WriteLine("berth admin migrate: " + line);
        }

        error.Flush();
    }

    /// <summary>Bytes for people: <c>512 B</c>, <c>3.2 MiB</c>.</summary>
    public static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B") : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
