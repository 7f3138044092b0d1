using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MnistNet.Data;

/// <summary>Conversion between big-endian IDX element bytes and this machine's order.</summary>
internal static class BigEndian
{
    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/> (same length), swapping the byte order of every
    /// <paramref name="elementSize"/>-byte element when this machine is little-endian. The conversion is its own inverse.
    /// </summary>
    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination, int elementSize)
    {
        if (!BitConverter.IsLittleEndian || elementSize == 1)
        {
            source.CopyTo(destination);
            return;
        }

        switch (elementSize)
        {
            case 2:
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ushort>(source), MemoryMarshal.Cast<byte, ushort>(destination));
                break;
            case 4:
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, uint>(source), MemoryMarshal.Cast<byte, uint>(destination));
                break;
            case 8:
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ulong>(source), MemoryMarshal.Cast<byte, ulong>(destination));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(elementSize), elementSize, "Expected 1, 2, 4 or 8.");
        }
    }
}
