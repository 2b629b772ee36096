using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Berth.Metadata.Postgres.Tests;

/// <summary>
/// An implementation of <typeparamref name="T"/> that asks its factory for the real one at the first call, so a suite can
/// be opened before every store it might use exists: only the tests that call it need it.
/// </summary>
public class LazyProxy<T> : DispatchProxy
    where T : class
{
    private Lazy<T>? _target;

    public static T Create(Func<T> factory)
    {
        var proxy = DispatchProxy.Create<T, LazyProxy<T>>();
        ((LazyProxy<T>)(object)proxy)._target = new Lazy<T>(factory, LazyThreadSafetyMode.ExecutionAndPublication);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        try
        {
            return targetMethod.Invoke(_target!.Value, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }
}
