using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MnistNet.Data;

/// <summary>
/// Reads IDX files (the MNIST format), raw or gzip-compressed, validating everything before trusting it.
/// </summary>
/// <remarks>
/// <para>Format: a 4-byte magic (two zero bytes, the element type, the number of dimensions), one big-endian
/// uint32 per dimension, then the elements, big-endian and row-major. See <see cref="IdxElementType"/>.</para>
/// <para>Files that start with the gzip signature (0x1F 0x8B) are decompressed on the fly.
/// The reader never allocates from the header's claim alone: a raw file's length is compared with the header
/// before any allocation, and compressed data is buffered only as fast as it actually decompresses.</para>
/// <para>Every problem in the data is reported as a <see cref="InvalidDataException"/> naming the source and the
/// byte offset (within the decompressed data for gzip files).</para>
/// </remarks>
public static class IdxReader
{
    private const int HeaderPrefix = 4;
    private const int GrowthChunk = 1 << 20;

    /// <summary>Reads an IDX file from disk.</summary>
    /// <param name="path">The file; <c>.gz</c> or raw, detected from its first bytes.</param>
    /// <returns>The file's element type, shape and elements.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid IDX file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist, or is a folder.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IdxFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        DataFiles.RequireFile(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads an IDX file from a stream, starting at its current position and reading to its end.</summary>
    /// <param name="stream">The data; raw or gzip, detected from its first bytes.</param>
    /// <param name="sourceName">A name for error messages (a path, say).</param>
    /// <returns>The file's element type, shape and elements.</returns>
    /// <exception cref="InvalidDataException">The data is not a valid IDX file.</exception>
    public static IdxFile Read(Stream stream, string sourceName = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);

        Span<byte> signature = stackalloc byte[2];
        int got = ReadAtMost(stream, signature, sourceName, 0);
        if (got == 2 && signature[0] == 0x1F && signature[1] == 0x8B)
        {
            return ReadGzip(stream, signature.ToArray(), sourceName);
        }

        long? remaining = stream.CanSeek ? stream.Length - stream.Position + got : null;
        return ReadRaw(stream, sourceName, remaining, signature[..got]);
    }

    /// <summary>
    /// A single gzip member (RFC 1952), checked strictly: the member's CRC-32 and length trailer must match the
    /// decompressed bytes, and nothing may follow the member (.NET's GZipStream alone checks neither).
    /// </summary>
    private static IdxFile ReadGzip(Stream stream, byte[] signature, string sourceName)
    {
        string source = sourceName + " (gzip)";
        using var compressed = new PrefixedStream(signature, stream);
        IdxFile file;
        Crc32Stream decompressed;
        using (var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true))
        {
            decompressed = new Crc32Stream(gzip);
            file = ReadRaw(decompressed, source, remainingLength: null, prefix: default);
        }

        // Whatever GZipStream left unread also counts: the trailer must be the file's last 8 bytes.
        Span<byte> rest = stackalloc byte[4096];
        while (compressed.Read(rest) > 0)
        {
        }

        ReadOnlySpan<byte> tail = compressed.Tail;
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
        if (compressed.Total < 18 || crc != decompressed.Crc || size != (uint)decompressed.Length)
        {
            throw DataErrors.AtOffset(sourceName, Math.Max(0, compressed.Total - 8), $"the gzip trailer (CRC-32 0x{crc:X8}, length {size}) does not match the {decompressed.Length} decompressed bytes (CRC-32 0x{decompressed.Crc:X8}): the compressed data is damaged, or other data follows the gzip member.");
        }

        return file;
    }

    private static IdxFile ReadRaw(Stream stream, string source, long? remainingLength, ReadOnlySpan<byte> prefix)
    {
        Span<byte> magic = stackalloc byte[HeaderPrefix];
        prefix.CopyTo(magic);
        int got = prefix.Length + ReadAtMost(stream, magic[prefix.Length..], source, prefix.Length);
        if (got == 0)
        {
            throw DataErrors.AtOffset(source, 0, stream is Crc32Stream
                ? "the gzip data decompresses to nothing (a truncated or empty gzip file): expected a 4-byte IDX magic number."
                : "the file is empty: expected a 4-byte IDX magic number.");
        }

        if (got < HeaderPrefix)
        {
            throw DataErrors.AtOffset(source, got, $"the file ends after {got} byte(s): expected a 4-byte IDX magic number.");
        }

        uint magicNumber = BinaryPrimitives.ReadUInt32BigEndian(magic);
        if (magic[0] != 0 || magic[1] != 0)
        {
            throw DataErrors.AtOffset(source, 0, $"expected an IDX magic number starting with two zero bytes, found 0x{magicNumber:X8} ({magicNumber}). This is not an IDX file.");
        }

        var type = (IdxElementType)magic[2];
        int elementSize = IdxFile.SizeOf(type);
        if (elementSize == 0)
        {
            throw DataErrors.AtOffset(source, 2, $"unknown IDX element type 0x{magic[2]:X2}: expected 0x08 (ubyte), 0x09 (sbyte), 0x0B (int16), 0x0C (int32), 0x0D (float32) or 0x0E (float64).");
        }

        int rank = magic[3];
        if (rank == 0)
        {
            throw DataErrors.AtOffset(source, 3, "the IDX header declares 0 dimensions: expected at least 1.");
        }

        Span<byte> dimensionBytes = stackalloc byte[4 * rank];
        int dimensionsRead = ReadAtMost(stream, dimensionBytes, source, HeaderPrefix);
        if (dimensionsRead < dimensionBytes.Length)
        {
            throw DataErrors.AtOffset(source, HeaderPrefix + dimensionsRead, $"the file ends inside the header: {rank} dimension sizes need {4 * rank} bytes after the magic number, found {dimensionsRead}.");
        }

        int[] dimensions = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(dimensionBytes.Slice(4 * d, 4));
            if (size > int.MaxValue)
            {
                throw DataErrors.AtOffset(source, HeaderPrefix + (4 * d), $"dimension {d} is {size}, larger than {int.MaxValue}.");
            }

            dimensions[d] = (int)size;
            count = count == 0 ? 0 : count * size;
            if (count > Array.MaxLength)
            {
                throw DataErrors.AtOffset(source, HeaderPrefix + (4 * d), $"the dimensions ({DescribeShape(dimensions, d + 1)}) describe more than {Array.MaxLength} elements, more than this reader accepts.");
            }
        }

        long headerLength = HeaderPrefix + (4L * rank);
        long dataLength = count * elementSize;
        if (dataLength > Array.MaxLength)
        {
            throw DataErrors.AtOffset(source, headerLength, $"the dimensions ({DescribeShape(dimensions, rank)}) of {type} need {dataLength} bytes of data, more than this reader accepts.");
        }

        if (remainingLength is long total && total != headerLength + dataLength)
        {
            long actualData = total - headerLength;
            string difference = actualData < dataLength
                ? $"the file is truncated: {dataLength - actualData} byte(s) missing"
                : $"{actualData - dataLength} unexpected byte(s) follow the data";
            throw DataErrors.AtOffset(source, Math.Min(total, headerLength + dataLength), $"the header declares {type} data of shape {DescribeShape(dimensions, rank)} ({dataLength} bytes after the {headerLength}-byte header, {headerLength + dataLength} in all), but the file has {total} bytes: {difference}.");
        }

        byte[] bytes = ReadExactly(stream, (int)dataLength, source, headerLength);
        Span<byte> trailing = stackalloc byte[1];
        if (ReadAtMost(stream, trailing, source, headerLength + dataLength) != 0)
        {
            throw DataErrors.AtOffset(source, headerLength + dataLength, $"unexpected data after the {dataLength} bytes the header declares (shape {DescribeShape(dimensions, rank)} of {type}).");
        }

        return IdxFile.FromParts(type, dimensions, Convert(type, bytes, (int)count));
    }

    private static Array Convert(IdxElementType type, byte[] bytes, int count) => type switch
    {
        IdxElementType.UnsignedByte => bytes,
        IdxElementType.SignedByte => MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray(),
        IdxElementType.Int16 => FromBigEndian<short>(bytes, count),
        IdxElementType.Int32 => FromBigEndian<int>(bytes, count),
        IdxElementType.Single => FromBigEndian<float>(bytes, count),
        _ => FromBigEndian<double>(bytes, count),
    };

    private static TElement[] FromBigEndian<TElement>(byte[] bytes, int count)
        where TElement : unmanaged
    {
        var result = new TElement[count];
        BigEndian.Copy(bytes, MemoryMarshal.AsBytes(result.AsSpan()), Unsafe.SizeOf<TElement>());
        return result;
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes, growing the buffer only as data arrives.</summary>
    private static byte[] ReadExactly(Stream stream, int length, string source, long offset)
    {
        byte[] buffer = new byte[Math.Min(length, GrowthChunk)];
        int filled = 0;
        while (filled < length)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(length, Math.Max(2L * buffer.Length, GrowthChunk)));
            }

            int n = ReadAtMost(stream, buffer.AsSpan(filled, buffer.Length - filled), source, offset + filled);
            if (n == 0)
            {
                throw DataErrors.AtOffset(source, offset + filled, $"the data is truncated: the header declares {length} bytes of elements, the file ends after {filled}.");
            }

            filled += n;
        }

        return buffer;
    }

    /// <summary>Reads until <paramref name="destination"/> is full or the stream ends; wraps decompression errors.</summary>
    private static int ReadAtMost(Stream stream, Span<byte> destination, string source, long offset)
    {
        int total = 0;
        try
        {
            while (total < destination.Length)
            {
                int n = stream.Read(destination[total..]);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (InvalidDataException ex) when (!ex.Data.Contains(DataErrors.SourceKey))
        {
            throw DataErrors.AtOffset(source, offset + total, $"the gzip data fails its checks (a corrupt compressed stream, or a CRC-32 or length trailer that does not match), or other data follows the gzip member; the decompressor said: {ex.Message}", ex);
        }

        return total;
    }

    private static string DescribeShape(int[] dimensions, int count) => string.Join(" × ", dimensions.Take(count));

    /// <summary>Replays already-read bytes before the rest of a stream (for gzip detection on unseekable streams).</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
    {
        private readonly byte[] _tail = new byte[8];
        private int _position;

        /// <summary>Gets the number of bytes read so far.</summary>
        public long Total { get; private set; }

        /// <summary>Gets the last 8 bytes read (zeros before the first 8).</summary>
        public ReadOnlySpan<byte> Tail => _tail;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n;
            if (_position < prefix.Length)
            {
                n = Math.Min(buffer.Length, prefix.Length - _position);
                prefix.AsSpan(_position, n).CopyTo(buffer);
                _position += n;
            }
            else
            {
                n = inner.Read(buffer);
            }

            Remember(buffer[..n]);
            return n;
        }

        private void Remember(ReadOnlySpan<byte> read)
        {
            Total += read.Length;
            if (read.Length >= 8)
            {
                read[^8..].CopyTo(_tail);
            }
            else if (read.Length > 0)
            {
                _tail.AsSpan(read.Length).CopyTo(_tail);
                read.CopyTo(_tail.AsSpan(8 - read.Length));
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Passes reads through, computing the CRC-32 and the length of what was read.</summary>
    private sealed class Crc32Stream(Stream inner) : Stream
    {
        private uint _crc = 0xFFFFFFFFu;

        public uint Crc => _crc ^ 0xFFFFFFFFu;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        private long _length;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            _crc = Crc32.Update(_crc, buffer[..n]);
            _length += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
