using MnistNet.Serialization;

using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace MnistNet.Data;

/// <summary>Writes IDX files, raw or gzip-compressed, readable by <see cref="IdxReader"/> and by other IDX tools.</summary>
public static class IdxWriter
{
    /// <summary>
    /// Writes <paramref name="file"/> to <paramref name="path"/> atomically: the bytes go to a temporary file in the same
    /// folder, which then replaces the target, so a failure never leaves a half-written file behind.
    /// </summary>
    /// <param name="path">The destination.</param>
    /// <param name="file">The contents.</param>
    /// <param name="compress">Whether to gzip the output (conventionally with a <c>.gz</c> name).</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void Write(string path, IdxFile file, bool compress = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(file);
        AtomicFile.Write(path, stream =>
        {
            if (compress)
            {
                using var gzip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
                Write(gzip, file);
            }
            else
            {
                Write(stream, file);
            }
        });
    }

    /// <summary>Writes <paramref name="file"/> to <paramref name="stream"/> in raw IDX form (big-endian).</summary>
    /// <param name="stream">The destination stream.</param>
    /// <param name="file">The contents.</param>
    public static void Write(Stream stream, IdxFile file)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(file);
        Span<byte> word = stackalloc byte[4];
        word[0] = 0;
        word[1] = 0;
        word[2] = (byte)file.ElementType;
        word[3] = (byte)file.Dimensions.Count;
        stream.Write(word);
        foreach (int d in file.Dimensions)
        {
            BinaryPrimitives.WriteUInt32BigEndian(word, (uint)d);
            stream.Write(word);
        }

        Array data = file.RawData;
        int size = IdxFile.SizeOf(file.ElementType);
        ReadOnlySpan<byte> native = data switch
        {
            byte[] bytes => bytes,
            sbyte[] values => MemoryMarshal.AsBytes(values.AsSpan()),
            short[] values => MemoryMarshal.AsBytes(values.AsSpan()),
            int[] values => MemoryMarshal.AsBytes(values.AsSpan()),
            float[] values => MemoryMarshal.AsBytes(values.AsSpan()),
            double[] values => MemoryMarshal.AsBytes(values.AsSpan()),
            _ => throw new InvalidOperationException($"Unexpected IDX element storage {data.GetType().Name}."),
        };

        if (size == 1)
        {
            stream.Write(native);
            return;
        }

        // Convert to big-endian a piece at a time, so writing never doubles the memory used.
        byte[] buffer = new byte[Math.Min(native.Length, 1 << 16)];
        for (int offset = 0; offset < native.Length; offset += buffer.Length)
        {
            int n = Math.Min(buffer.Length, native.Length - offset);
            BigEndian.Copy(native.Slice(offset, n), buffer.AsSpan(0, n), size);
            stream.Write(buffer, 0, n);
        }
    }
}
