using System.Net;
using System.Text.Json;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>Waiting for the server's scanner from outside, as a client sees it.</summary>
public static class ScanWaits
{
    /// <summary>
    /// Polls <c>GET /api/v1/repositories/scan</c> (anonymous: the project must be readable, or the caller's fixture
    /// public) until the image's scan is <c>done</c>; fails at once when it ended <c>failed</c> or <c>unsupported</c>,
    /// and after <paramref name="timeout"/> with the last answer and the server's log tail.
    /// </summary>
    public static async Task WaitForScanAsync(this BerthProcess server, string repository, string reference, TimeSpan timeout)
    {
        using var http = new RegistryHttp(server.BaseAddress);
        var deadline = DateTimeOffset.UtcNow + timeout;
        var last = string.Empty;
        while (DateTimeOffset.UtcNow < deadline)
        {
            using var response = await http.Client.GetAsync($"/api/v1/repositories/scan?repository={Uri.EscapeDataString(repository)}&reference={Uri.EscapeDataString(reference)}");
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                using var json = JsonDocument.Parse(last);
                // {"digest", ..., "scan": {"status", ...}} (docs/management-api.md, ImageScan)
                var status = json.RootElement.TryGetProperty("scan", out var scan) && scan.ValueKind == JsonValueKind.Object
                    && scan.TryGetProperty("status", out var s) ? s.GetString() : null;
                if (status == "done")
                {
                    return;
                }

                Assert.True(status is not ("failed" or "unsupported"), $"the scan of {repository}:{reference} ended {status}: {last}");
            }

            await Task.Delay(250);
        }

        Assert.Fail($"the scan of {repository}:{reference} is not done after {timeout}; last answer: {last}\n{server.LogTail()}");
    }
}
