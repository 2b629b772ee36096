using System.Text;

namespace Berth.Scanning.Tests.Extractors;

/// <summary>
/// Writes a minimal ELF file holding Go build information as the Go 1.18+ linker lays it out in <c>.go.buildinfo</c>: the
/// 14-byte magic <c>\xff Go buildinf:</c>, pointer size, flags (bit 1: strings inline), padding to 32 bytes, then the Go
/// version and the module text (between 16-byte sentinels), each prefixed by its length as an unsigned varint.
/// </summary>
internal static class GoBinary
{
    private static readonly byte[] Magic = [0xff, .. " Go buildinf:"u8];

    public static byte[] Build(string goVersion, string modules, int blockOffset, int decoyOffset)
    {
        var block = new List<byte>(Magic) { 8, 0x2 };
        block.AddRange(new byte[16]);
        AddString(block, Encoding.UTF8.GetBytes(goVersion));
        var sentinelStart = Convert.FromHexString("3077af0c9274080241e1c107e6d618e6");
        var sentinelEnd = Convert.FromHexString("f932433186182072008242104116d8f2");
        AddString(block, [.. sentinelStart, .. Encoding.UTF8.GetBytes(modules), .. sentinelEnd]);

        var file = new byte[blockOffset + block.Count + 4096];
        PlainElf().CopyTo(file, 0);

        // A decoy: the magic as a string constant (as in binaries that import debug/buildinfo), with no valid header after it.
        Magic.CopyTo(file, decoyOffset);
        block.ToArray().CopyTo(file, blockOffset);
        return file;
    }

    public static byte[] PlainElf()
    {
        var elf = new byte[256];
        elf[0] = 0x7f;
        "ELF"u8.CopyTo(elf.AsSpan(1));
        elf[4] = 2;
        elf[5] = 1;
        elf[6] = 1;
        return elf;
    }

    private static void AddString(List<byte> block, byte[] value)
    {
        var length = (ulong)value.Length;
        while (length >= 0x80)
        {
            block.Add((byte)(length | 0x80));
            length >>= 7;
        }

        block.Add((byte)length);
        block.AddRange(value);
    }
}
