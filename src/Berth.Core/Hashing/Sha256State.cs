using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Berth.Core.Hashing;

/// <summary>
/// A running SHA-256 whose state can be saved as bytes and restored in another process, so an upload resumed after a
/// restart or on another node continues its hash without reading back what it stored. .NET's
/// <see cref="System.Security.Cryptography.IncrementalHash"/> cannot export its state; this is OpenSSL's
/// <c>SHA256_Init/Update/Final</c> from <c>libcrypto.so.3</c> (the library .NET's own hashing uses on Linux, so the same
/// speed) over the 112-byte <c>SHA256_CTX</c> kept in managed memory. Where the library is missing (Windows, macOS
/// without OpenSSL 3) <see cref="IsSupported"/> is false and callers fall back to re-reading the data.
/// Not thread-safe: one upload's hash is used by one request at a time.
/// </summary>
public sealed partial class Sha256State
{
    /// <summary>Size of the saved state: <c>sizeof(SHA256_CTX)</c> (8 state words, 2 length words, a 64-byte block, num, md_len).</summary>
    public const int StateSize = 112;

    private const string LibCrypto = "libcrypto.so.3";
    private const int NumOffset = 104;
    private const int MdLengthOffset = 108;

    private static readonly Lazy<bool> Supported = new(Probe);

    private readonly byte[] _context;

    private Sha256State(byte[] context) => _context = context;

    /// <summary>Whether OpenSSL 3's SHA-256 is available in this process.</summary>
    public static bool IsSupported => Supported.Value;

    /// <summary>A new, empty hash. Throws <see cref="PlatformNotSupportedException"/> when <see cref="IsSupported"/> is false.</summary>
    public static Sha256State Create()
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("OpenSSL 3 (libcrypto.so.3) is not available");
        }

        var context = new byte[StateSize];
        Check(Init(ref context[0]), "SHA256_Init");
        return new Sha256State(context);
    }

    /// <summary>
    /// Restores a state saved by <see cref="Export"/>. False (and no state) when the platform lacks OpenSSL or the bytes
    /// are not a state this class saved: wrong length, a buffered-byte count outside the 64-byte block, or a digest
    /// length other than 32 (OpenSSL would index its block with those fields, so they are checked, not trusted).
    /// </summary>
    public static bool TryRestore(ReadOnlySpan<byte> saved, out Sha256State? state)
    {
        state = null;
        if (!IsSupported || saved.Length != StateSize)
        {
            return false;
        }

        var num = BinaryPrimitives.ReadUInt32LittleEndian(saved[NumOffset..]);
        var mdLength = BinaryPrimitives.ReadUInt32LittleEndian(saved[MdLengthOffset..]);
        if (num >= 64 || mdLength != 32)
        {
            return false;
        }

        state = new Sha256State(saved.ToArray());
        return true;
    }

    /// <summary>Feeds <paramref name="data"/> into the hash.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        Check(Update(ref _context[0], ref MemoryMarshal.GetReference(data), (nuint)data.Length), "SHA256_Update");
    }

    /// <summary>The state as bytes (<see cref="StateSize"/> of them), to save with the upload and restore later.</summary>
    public byte[] Export() => (byte[])_context.Clone();

    /// <summary>The digest of everything appended so far; the state is unchanged (the final step runs on a copy).</summary>
    public byte[] GetCurrentHash()
    {
        var copy = (byte[])_context.Clone();
        var hash = new byte[32];
        Check(Final(ref hash[0], ref copy[0]), "SHA256_Final");
        return hash;
    }

    private static void Check(int result, string function)
    {
        if (result != 1)
        {
            throw new InvalidOperationException($"OpenSSL {function} failed");
        }
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsFreeBSD())
        {
            return false;
        }

        try
        {
            var context = new byte[StateSize];
            return Init(ref context[0]) == 1
                && BinaryPrimitives.ReadUInt32LittleEndian(context.AsSpan(MdLengthOffset)) == 32; // the layout we save
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport(LibCrypto, EntryPoint = "SHA256_Init")]
    private static partial int Init(ref byte context);

    [LibraryImport(LibCrypto, EntryPoint = "SHA256_Update")]
    private static partial int Update(ref byte context, ref byte data, nuint length);

    [LibraryImport(LibCrypto, EntryPoint = "SHA256_Final")]
    private static partial int Final(ref byte digest, ref byte context);
}
