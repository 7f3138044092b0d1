using System.Buffers.Binary;
using System.IO.Compression;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.Data;

namespace MnistNet.Tests;

public class IdxTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-idx-").FullName;

    public void Dispose()
    {
        Directory.Delete(_folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void RoundTrip_EveryElementType_RawAndGzip()
    {
        RoundTrip(IdxFile.Create<byte>([2, 3], [0, 1, 2, 253, 254, 255]), f => f.GetData<byte>().ToArray());
        RoundTrip(IdxFile.Create<sbyte>([4], [-128, -1, 0, 127]), f => f.GetData<sbyte>().ToArray());
        RoundTrip(IdxFile.Create<short>([3], [short.MinValue, 258, short.MaxValue]), f => f.GetData<short>().ToArray());
        RoundTrip(IdxFile.Create<int>([1, 3], [int.MinValue, 0x01020304, int.MaxValue]), f => f.GetData<int>().ToArray());
        RoundTrip(IdxFile.Create<float>([2], [-1.5f, float.Epsilon]), f => f.GetData<float>().ToArray());
        RoundTrip(IdxFile.Create<double>([2, 1, 1], [Math.PI, -0.0]), f => f.GetData<double>().ToArray());
        RoundTrip(IdxFile.Create<byte>([0, 28, 28], []), f => f.GetData<byte>().ToArray());
    }

    [Fact]
    public void Read_IsBigEndian_AsSpecified()
    {
        byte[] bytes = [0, 0, 0x0C, 1, 0, 0, 0, 1, 0x01, 0x02, 0x03, 0x04];
        IdxFile file = IdxReader.Read(new MemoryStream(bytes));
        Assert.Equal(0x01020304, file.GetData<int>()[0]);
        Assert.Throws<InvalidOperationException>(() => file.GetData<byte>().Length);
    }

    [Fact]
    public void Read_EmptyFile_Throws()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("empty", [])));
        Assert.Contains("empty", ex.Message);
        Assert.Contains("empty", (string)ex.Data["MnistNet.Source"]!);
    }

    [Fact]
    public void Read_WrongMagic_ThrowsWithOffsetZero()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("magic", [1, 2, 8, 1, 0, 0, 0, 0])));
        Assert.Contains("at byte offset 0", ex.Message);
        Assert.Equal(0L, ex.Data["MnistNet.Offset"]);
    }

    [Fact]
    public void Read_UnknownElementType_Throws()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("type", [0, 0, 0x0A, 1, 0, 0, 0, 0])));
        Assert.Contains("0x0A", ex.Message);
        Assert.Contains("offset 2", ex.Message);
    }

    [Fact]
    public void Read_ZeroDimensions_Throws()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("rank", [0, 0, 8, 0])));
        Assert.Contains("0 dimensions", ex.Message);
    }

    [Fact]
    public void Read_TruncatedHeader_Throws()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("header", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0])));
        Assert.Contains("ends inside the header", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_TruncatedData_Throws(bool gzip)
    {
        byte[] bytes = Serialize(IdxFile.Create<byte>([4, 4], new byte[16]));
        string path = Write("trunc", gzip ? Gzip(bytes[..^3]) : bytes[..^3]);
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));
        Assert.Contains("truncated", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_TrailingJunk_Throws(bool gzip)
    {
        byte[] bytes = [.. Serialize(IdxFile.Create<byte>([2], [1, 2])), 9, 9];
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("junk", gzip ? Gzip(bytes) : bytes)));
        Assert.Contains("unexpected", ex.Message);
    }

    [Fact]
    public void Read_HeaderClaimsHugeData_ThrowsWithoutAllocating()
    {
        // 4 × 65535³ int32s: far beyond any array; must be rejected from the header, before allocation.
        byte[] header = [0, 0, 0x0C, 3, 0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF];
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("huge", header)));

        // A plausible size that the file does not contain: 100 million bytes claimed, 16 present.
        byte[] claim = [0, 0, 8, 1, 0x05, 0xF5, 0xE1, 0x00, 1, 2, 3, 4, 5, 6, 7, 8];
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("claim", claim)));
        Assert.Contains("truncated", ex.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 * 1024 * 1024);
    }

    [Fact]
    public void Read_GzipClaimingHugeData_AllocatesOnlyWhatArrives()
    {
        byte[] claim = Gzip([0, 0, 8, 1, 0x3B, 0x9A, 0xCA, 0x00, 1, 2, 3]); // claims 1e9 bytes
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("gzclaim", claim)));
        Assert.Contains("truncated", ex.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 * 1024 * 1024);
    }

    [Fact]
    public void Read_CorruptGzip_ThrowsInvalidData()
    {
        byte[] gz = Gzip(Serialize(IdxFile.Create<byte>([64], new byte[64])));
        for (int i = 10; i < gz.Length - 8; i++)
        {
            gz[i] ^= 0x5A;
        }

        Assert.Throws<InvalidDataException>(() => IdxReader.Read(Write("corrupt", gz)));
    }

    [Fact]
    public void Read_Gzip_IsStrict_AboutTheTrailerAndWhatFollowsTheMember()
    {
        byte[] gz = Gzip(Serialize(IdxFile.Create<short>([3, 5], Enumerable.Range(0, 15).Select(i => (short)i).ToArray())));
        Assert.Equal(15, IdxReader.Read(new MemoryStream(gz), "good").Count);

        // A wrong CRC-32 (the decompressed bytes differ from what was compressed) is refused, naming the trailer.
        byte[] badCrc = (byte[])gz.Clone();
        badCrc[^8] ^= 0x01;
        Assert.Contains("CRC-32", Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(badCrc), "crc")).Message);

        // A wrong length in the trailer, a trailer cut short, junk after the member: all refused.
        byte[] badSize = (byte[])gz.Clone();
        badSize[^4] ^= 0x01;
        Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(badSize), "size"));
        Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(gz[..^4]), "cut"));
        foreach (byte[] junk in new byte[][] { [0], [1, 2, 3], "junk after the member"u8.ToArray() })
        {
            var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream([.. gz, .. junk]), "junk"));
            Assert.Contains("follows the gzip member", ex.Message);
        }

        // The same checks on an unseekable stream (a pipe).
        Assert.Throws<InvalidDataException>(() => IdxReader.Read(new UnseekableStream([.. gz, 7, 7]), "pipe"));
        Assert.Equal(15, IdxReader.Read(new UnseekableStream(gz), "pipe").Count);
    }

    [Fact]
    public void Read_BareGzipSignature_SaysTheGzipFileIsTruncated()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream([0x1F, 0x8B]), "bare"));
        Assert.DoesNotContain("the file is empty", ex.Message);
        Assert.Contains("gzip", ex.Message);
    }

    [Fact]
    public void Read_FromUnseekableStream_Works()
    {
        byte[] gz = Gzip(Serialize(IdxFile.Create<short>([2], [1, -2])));
        IdxFile file = IdxReader.Read(new UnseekableStream(gz), "pipe");
        Assert.Equal(new short[] { 1, -2 }, file.GetData<short>().ToArray());
    }

    [Property(Arbitrary = [typeof(MutationGenerators)], MaxTest = 300)]
    public void Read_MutatedFile_ReturnsValidResultOrThrowsInvalidData(Mutation mutation)
    {
        byte[] original = Serialize(IdxFile.Create<short>([3, 5], Enumerable.Range(0, 15).Select(i => (short)(i * 1000)).ToArray()));
        byte[] mutated = mutation.Apply(mutation.Gzip ? Gzip(original) : original);
        try
        {
            IdxFile file = IdxReader.Read(new MemoryStream(mutated), "mutated");
            long count = file.Dimensions.Aggregate(1L, (a, d) => a * d);
            Assert.Equal(count, file.Count);
        }
        catch (InvalidDataException)
        {
            // The documented failure.
        }
    }

    [Fact]
    public void Write_ReplacesAtomically_LeavesNoTemporaryFiles()
    {
        string path = Path.Combine(_folder, "atomic.idx");
        IdxWriter.Write(path, IdxFile.Create<byte>([1], [1]));
        IdxWriter.Write(path, IdxFile.Create<byte>([2], [2, 3]));
        Assert.Equal(new byte[] { 2, 3 }, IdxReader.Read(path).GetData<byte>().ToArray());
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Create_ShapeMismatch_Throws()
    {
        Assert.Throws<ArgumentException>(() => IdxFile.Create<byte>([2, 2], [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => IdxFile.Create<byte>([], [1]));
        Assert.Throws<NotSupportedException>(() => IdxFile.Create<long>([1], [1L]));
    }

    private void RoundTrip(IdxFile file, Func<IdxFile, Array> data)
    {
        foreach (bool gzip in new[] { false, true })
        {
            string path = Path.Combine(_folder, $"rt-{Guid.NewGuid():N}");
            IdxWriter.Write(path, file, compress: gzip);
            IdxFile back = IdxReader.Read(path);
            Assert.Equal(file.ElementType, back.ElementType);
            Assert.Equal(file.Dimensions, back.Dimensions);
            Assert.Equal(data(file), data(back));
        }
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    internal static byte[] Serialize(IdxFile file)
    {
        using var stream = new MemoryStream();
        IdxWriter.Write(stream, file);
        return stream.ToArray();
    }

    internal static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    public sealed record Mutation(int Kind, int Position, byte Value, int Length, bool Gzip)
    {
        public byte[] Apply(byte[] bytes)
        {
            int at = bytes.Length == 0 ? 0 : Position % bytes.Length;
            return Kind switch
            {
                0 => bytes[..at],                                                        // truncate
                1 => bytes.Select((b, i) => i == at ? (byte)(b ^ (1 << (Value % 8))) : b).ToArray(), // flip a bit
                2 => bytes.Select((b, i) => i == at ? Value : b).ToArray(),            // overwrite a byte
                3 => [.. bytes[..at], .. Enumerable.Repeat(Value, Length), .. bytes[at..]], // insert bytes
                _ => [.. bytes, .. Enumerable.Repeat(Value, Length)],                  // append junk
            };
        }
    }

    public static class MutationGenerators
    {
        public static Arbitrary<Mutation> Mutations() =>
            (from kind in Gen.Choose(0, 4)
             from position in Gen.Choose(0, 10_000)
             from value in Gen.Choose(0, 255)
             from length in Gen.Choose(1, 9)
             from gzip in Gen.Elements(false, true)
             select new Mutation(kind, position, (byte)value, length, gzip)).ToArbitrary();
    }

    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
