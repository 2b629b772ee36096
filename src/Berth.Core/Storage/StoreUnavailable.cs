namespace Berth.Core.Storage;

/// <summary>
/// Recognises a provider's "cannot reach the store now" error: the PostgreSQL server down or refusing connections, an
/// object store that does not answer or answers 503. Each provider registers one; <see cref="StoreUnavailableClassifier"/>
/// asks them all. Not for errors of the request itself (a missing key, a constraint): only for the store being away.
/// </summary>
public interface IStoreUnavailableDetector
{
    /// <summary>Whether <paramref name="exception"/> itself (not its inner exceptions) says the store cannot be reached now.</summary>
    bool IsUnavailable(Exception exception);
}

/// <summary>
/// Decides whether an exception means "a store the registry needs is unreachable for now", whichever layer threw it,
/// looking through inner and aggregated exceptions. The API answers it as <c>503</c> (OCI code <c>UNAVAILABLE</c>,
/// with <c>Retry-After</c>), so clients retry and a load balancer sees a node that cannot serve, instead of a 500.
/// </summary>
public sealed class StoreUnavailableClassifier
{
    /// <summary>The words clients see.</summary>
    public const string Message = "the registry cannot reach its metadata database or blob storage right now; try again shortly";

    /// <summary>Knows no provider (a service built by hand, tests).</summary>
    public static readonly StoreUnavailableClassifier None = new([]);

    private readonly IStoreUnavailableDetector[] _detectors;

    public StoreUnavailableClassifier(IEnumerable<IStoreUnavailableDetector> detectors)
    {
        ArgumentNullException.ThrowIfNull(detectors);
        _detectors = detectors.ToArray();
    }

    public bool IsUnavailable(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 8; depth++)
        {
            foreach (var detector in _detectors)
            {
                if (detector.IsUnavailable(exception))
                {
                    return true;
                }
            }

            if (exception is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsUnavailable);
            }

            exception = exception.InnerException;
        }

        return false;
    }
}
