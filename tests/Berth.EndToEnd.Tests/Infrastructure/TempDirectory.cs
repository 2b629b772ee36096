namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A fresh folder under one per-run root (<c>$TMPDIR/berth-e2e/&lt;pid&gt;-&lt;random&gt;</c>); disposing deletes it.
/// Paths contain no ':' so they can be used in <c>oci:DIR:TAG</c> references.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    private static readonly Lazy<string> RunRoot = new(() =>
    {
        var root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "berth-e2e", $"{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteQuietly(root);
        return root;
    });

    public TempDirectory(string name)
    {
        Path = System.IO.Path.Combine(RunRoot.Value, $"{name}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside this folder (not created).</summary>
    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => DeleteQuietly(Path);

    public static void DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
