namespace Berth.Signing.Tests.Support;

/// <summary>Where npm's @sigstore/sign lives, and how to make a bundle with it.</summary>
public static class SigstoreModules
{
    public const string InstallLine = "npm install --prefix /opt/berth-sigstore @sigstore/sign@5.1.0 @sigstore/bundle@5.0.1";

    public static string Folder => Environment.GetEnvironmentVariable("BERTH_SIGSTORE_MODULES") is { Length: > 0 } folder ? folder : "/opt/berth-sigstore/node_modules";

    /// <summary>Why the modules cannot be used, or null when they can.</summary>
    public static string? Missing =>
        Directory.Exists(Path.Combine(Folder, "@sigstore", "sign")) && Directory.Exists(Path.Combine(Folder, "@sigstore", "bundle"))
            ? null
            : $"@sigstore/sign is not installed in {Folder} (BERTH_SIGSTORE_MODULES); install it with: {InstallLine}";

    /// <summary>A bundle made by @sigstore/sign offline: <paramref name="mode"/> is message or dsse.</summary>
    public static byte[] MakeBundle(TempFolder folder, string mode, string privatePath, string publicPath, byte[] artifact, string? hint)
    {
        if (Missing is { } reason)
        {
            Assert.Fail(reason);
        }

        var artifactPath = folder.Write("artifact-" + Guid.NewGuid().ToString("N"), artifact);
        var output = artifactPath + ".bundle.json";
        var script = Path.Combine(AppContext.BaseDirectory, "Tools", "make-sigstore-bundle.cjs");
        Tool.Run("node", folder.Path, new Dictionary<string, string> { ["NODE_PATH"] = Folder }, script, mode, privatePath, publicPath, artifactPath, hint ?? "-", output);
        return File.ReadAllBytes(output);
    }
}
