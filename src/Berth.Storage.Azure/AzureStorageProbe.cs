using Azure;
using Azure.Storage.Blobs.Specialized;
using Berth.Core;
using Microsoft.Extensions.Options;

namespace Berth.Storage.Azure;

/// <summary>
/// The Azure Blob store's start-up and <c>/readyz</c> check, one line each: the endpoint answers, the account key is
/// accepted, the container exists, and (once per process, the first time all that holds) a probe blob can be written
/// under the prefix and deleted again. Each check is one try with a short timeout, all of them within
/// <see cref="Timeout"/>; no stack trace, no connection string, no key.
/// </summary>
internal sealed class AzureStorageProbe(IOptions<AzureStorageOptions> options) : IProviderProbe
{
    /// <summary>The longest a probe takes, whatever the endpoint does.</summary>
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private volatile bool _writable;

    public string Setting => "--storage";

    public async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (AzureStorageOptionsValidator.Check(settings) is { } invalid)
        {
            return "azure: " + invalid;
        }

        var container = AzureClients.CreateContainer(settings, AzureClients.ProbeOptions());
        var endpoint = AzureClients.Show(container.Uri);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Timeout);
        try
        {
            var exists = await container.ExistsAsync(bounded.Token).ConfigureAwait(false);
            if (!exists.Value)
            {
                return $"azure: container '{settings.Container}' does not exist at {AzureClients.Show(container.GetParentBlobServiceClient().Uri)}";
            }

            if (!_writable)
            {
                var prefix = string.IsNullOrEmpty(settings.Prefix) ? string.Empty : settings.Prefix.Trim('/') + "/";
                var probe = container.GetBlobClient($"{prefix}.berth-probe-{Guid.NewGuid():N}");
                try
                {
                    await probe.UploadAsync(BinaryData.FromString("berth"), bounded.Token).ConfigureAwait(false);
                    await probe.DeleteIfExistsAsync(cancellationToken: bounded.Token).ConfigureAwait(false);
                }
                catch (RequestFailedException ex) when (ex.Status is >= 400 and < 500)
                {
                    return $"azure: cannot write to container '{settings.Container}' at {endpoint}: {Describe(ex)}";
                }

                _writable = true;
            }

            return null;
        }
        catch (RequestFailedException ex) when (ex.Status is 401 or 403)
        {
            return $"azure: {endpoint} refused the credentials of the connection string ({Describe(ex)})";
        }
        catch (RequestFailedException ex) when (ex.Status != 0)
        {
            return $"azure: {endpoint} answered {Describe(ex)}";
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException or IOException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return $"azure: cannot reach {endpoint}: {Reason(ex)}";
        }
    }

    private static string Describe(RequestFailedException ex) =>
        ex.ErrorCode is { Length: > 0 } code ? $"{ex.Status} {code}" : $"HTTP {ex.Status}";

    /// <summary>The innermost transport message (connection refused, name not known), or that it timed out.</summary>
    private static string Reason(Exception ex)
    {
        if (ex is OperationCanceledException or TimeoutException)
        {
            return $"no answer within {Timeout.TotalSeconds:0} s";
        }

        var inner = ex;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        if (inner is OperationCanceledException or TimeoutException)
        {
            return $"no answer within {Timeout.TotalSeconds:0} s";
        }

        return string.Concat(inner.Message.Take(200).Select(c => char.IsControl(c) ? ' ' : c));
    }
}
