using Berth.EndToEnd.Tests.Images;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// skopeo against the plain-HTTP test server. <c>--insecure-policy</c> keeps the machine's signature policy out of the
/// way; <c>--preserve-digests</c> makes skopeo fail rather than silently re-compress, so digests must survive the trip.
/// </summary>
public static class Skopeo
{
    /// <summary>Runs skopeo signed in as every test server's administrator (see <see cref="RegistryAuth"/>).</summary>
    public static Task<ProcessResult> RunAsync(params string[] arguments) =>
        ProcessRunner.RunCheckedAsync(ExternalTools.Skopeo, ["--insecure-policy", .. arguments], environment: RegistryAuth.Environment);

    /// <summary>Copies <paramref name="image"/> (with <c>--all</c> when it is an index) to <c>docker://HOST/REPO:TAG</c>.</summary>
    public static Task<ProcessResult> PushAsync(TestImage image, string destination) =>
        RunAsync(["copy", "--quiet", "--preserve-digests", .. All(image.IsIndex), "--dest-tls-verify=false",
            image.OciReference, $"docker://{destination}"]);

    /// <summary>Copies <c>docker://HOST/REPO:TAG</c> into the OCI layout <paramref name="layout"/> under <paramref name="tag"/>.</summary>
    public static Task<ProcessResult> PullAsync(string source, string layout, string tag, bool all) =>
        RunAsync(["copy", "--quiet", "--preserve-digests", .. All(all), "--src-tls-verify=false",
            $"docker://{source}", $"oci:{layout}:{tag}"]);

    /// <summary>The manifest or index exactly as the registry serves it.</summary>
    public static async Task<byte[]> InspectRawAsync(string reference) =>
        (await RunAsync("inspect", "--raw", "--tls-verify=false", $"docker://{reference}")).StandardOutput;

    /// <summary>The image config blob exactly as the registry serves it.</summary>
    public static async Task<byte[]> InspectConfigRawAsync(string reference) =>
        (await RunAsync("inspect", "--config", "--raw", "--tls-verify=false", $"docker://{reference}")).StandardOutput;

    private static string[] All(bool all) => all ? ["--all"] : [];
}
