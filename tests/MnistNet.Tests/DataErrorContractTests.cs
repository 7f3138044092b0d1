using System.IO.Compression;
using MnistNet.Data;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>
/// The readers' error contract, exactly: each bad input gives the documented exception with the whole message (what
/// was expected, what was found, with the numbers) and the byte offset, line or column in <c>Exception.Data</c>.
/// Mutation testing showed that checking only the exception type left the offsets and the numbers in messages unguarded.
/// </summary>
public class DataErrorContractTests
{
    public static TheoryData<string, byte[], bool, long, string> IdxCases => new()
    {
        { "empty", [], true, 0, "the file is empty: expected a 4-byte IDX magic number." },
        { "3 bytes", [0, 0, 8], true, 3, "the file ends after 3 byte(s): expected a 4-byte IDX magic number." },
        { "1 byte, unseekable", [0], false, 1, "the file ends after 1 byte(s): expected a 4-byte IDX magic number." },
        { "not zero-led", [1, 0, 8, 1], true, 0, "expected an IDX magic number starting with two zero bytes, found 0x01000801 (16779265). This is not an IDX file." },
        { "second byte", [0, 7, 8, 1], true, 0, "expected an IDX magic number starting with two zero bytes, found 0x00070801 (460801). This is not an IDX file." },
        { "type", [0, 0, 0x0A, 1], true, 2, "unknown IDX element type 0x0A: expected 0x08 (ubyte), 0x09 (sbyte), 0x0B (int16), 0x0C (int32), 0x0D (float32) or 0x0E (float64)." },
        { "rank 0", [0, 0, 8, 0], true, 3, "the IDX header declares 0 dimensions: expected at least 1." },
        { "header cut", [0, 0, 8, 2, 0, 0, 0, 1, 0, 0], true, 10, "the file ends inside the header: 2 dimension sizes need 8 bytes after the magic number, found 6." },
        { "dimension 2^31", [0, 0, 8, 2, 0, 0, 0, 2, 0x80, 0, 0, 0], true, 8, "dimension 1 is 2147483648, larger than 2147483647." },
        { "too many elements", [0, 0, 8, 3, 0, 0, 0, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2], true, 8, $"the dimensions (3 × 2147483647) describe more than {Array.MaxLength} elements, more than this reader accepts." },
        { "dimension 3 is 2^31", [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0x80, 0, 0, 0], true, 12, "dimension 2 is 2147483648, larger than 2147483647." },
        { "too many at dimension 3", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0x7F, 0xFF, 0xFF, 0xFF], true, 12, $"the dimensions (2 × 2 × 2147483647) describe more than {Array.MaxLength} elements, more than this reader accepts." },
        { "too many bytes", [0, 0, 0x0C, 1, 0x7F, 0, 0, 0], true, 8, $"the dimensions (2130706432) of Int32 need 8522825728 bytes of data, more than this reader accepts." },
        { "truncated", [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2], true, 14, "the header declares UnsignedByte data of shape 2 × 3 (6 bytes after the 12-byte header, 18 in all), but the file has 14 bytes: the file is truncated: 4 byte(s) missing." },
        { "trailing", [0, 0, 8, 1, 0, 0, 0, 1, 5, 6, 7], true, 9, "the header declares UnsignedByte data of shape 1 (1 bytes after the 8-byte header, 9 in all), but the file has 11 bytes: 2 unexpected byte(s) follow the data." },
        { "truncated, unseekable", [0, 0, 8, 1, 0, 0, 0, 5, 1, 2], false, 10, "the data is truncated: the header declares 5 bytes of elements, the file ends after 2." },
        { "trailing, unseekable", [0, 0, 8, 1, 0, 0, 0, 1, 5, 6, 7], false, 9, "unexpected data after the 1 bytes the header declares (shape 1 of UnsignedByte)." },
    };

    [Theory]
    [MemberData(nameof(IdxCases))]
    public void Idx_BadHeaderOrLength_ExactMessageAndOffset(string what, byte[] bytes, bool seekable, long offset, string problem)
    {
        Stream stream = seekable ? new MemoryStream(bytes) : new Unseekable(bytes);
        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(stream, "x.idx"));
        Assert.Equal($"x.idx: at byte offset {offset}: {problem}", error.Message);
        Assert.Equal(offset, error.Data[DataErrors.OffsetKey]);
        Assert.Equal("x.idx", error.Data[DataErrors.SourceKey]);
        Assert.NotNull(what);
    }

    [Fact]
    public void Idx_GzipWithNothingInside_AndWithAWrongTrailer_ExactMessages()
    {
        // A complete gzip member of nothing: header, an empty final deflate block, CRC-32 0 and length 0.
        byte[] empty = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
        var nothing = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(empty), "e.gz"));
        Assert.Equal("e.gz (gzip): at byte offset 0: the gzip data decompresses to nothing (a truncated or empty gzip file): expected a 4-byte IDX magic number.", nothing.Message);

        byte[] good = Gzip([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]);
        byte[] badLength = (byte[])good.Clone();
        badLength[^4] ^= 1;                                              // the ISIZE field: 11 instead of 10
        var trailer = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(badLength), "t.gz"));
        Assert.StartsWith("t.gz (gzip): at byte offset 8: the gzip data fails its checks (a corrupt compressed stream, or a CRC-32 or length trailer that does not match), or other data follows the gzip member; the decompressor said: ", trailer.Message);
        Assert.Equal(8L, trailer.Data[DataErrors.OffsetKey]);

        // One zero byte after the member: the decompressor stops at the member's end; the reader's own check finds it.
        byte[] junk = [.. good, 0];
        var after = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(junk), "j.gz"));
        Assert.StartsWith($"j.gz: at byte offset {junk.Length - 8}: the gzip trailer (CRC-32 0x", after.Message);
        Assert.EndsWith("does not match the 10 decompressed bytes (CRC-32 0x" + Crc(good) + "): the compressed data is damaged, or other data follows the gzip member.", after.Message);
        Assert.Equal((long)(junk.Length - 8), after.Data[DataErrors.OffsetKey]);

        // A damaged trailer found after many reads of data: the offset is where the failing read began, past the header.
        byte[] noise = new byte[1 << 16];
        new Random(5).NextBytes(noise);
        byte[] big = Gzip([0, 0, 8, 1, 0, 1, 0, 0, .. noise]);
        big[^4] ^= 1;
        var late = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(big), "b.gz"));
        long lateOffset = (long)late.Data[DataErrors.OffsetKey]!;
        Assert.InRange(lateOffset, 9, 8 + noise.Length);
        Assert.StartsWith($"b.gz (gzip): at byte offset {lateOffset}: the gzip data fails its checks", late.Message);

        IdxFile read = IdxReader.Read(new Unseekable(good), "u.gz");
        Assert.Equal([7, 9], read.GetData<byte>().ToArray());
    }

    [Fact]
    public void IdxWriter_CompressesWhenAsked_AndChecksItsArguments()
    {
        IdxFile file = IdxFile.Create<byte>([3], [1, 2, 3]);
        string folder = Path.Combine(Path.GetTempPath(), $"mnistnet-idxw-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string raw = Path.Combine(folder, "a.idx");
            string gz = Path.Combine(folder, "a.idx.gz");
            IdxWriter.Write(raw, file, compress: false);
            IdxWriter.Write(gz, file, compress: true);
            Assert.Equal([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3], File.ReadAllBytes(raw));
            Assert.Equal([0x1F, 0x8B], File.ReadAllBytes(gz)[..2]);
            Assert.Equal([1, 2, 3], IdxReader.Read(gz).GetData<byte>().ToArray());

            // Larger than the writer's 64 KB staging buffer, in int32 (converted to big-endian chunk by chunk).
            int[] many = Enumerable.Range(0, 40_000).Select(i => (i * 7919) - 100_000).ToArray();
            string big = Path.Combine(folder, "big.idx");
            IdxWriter.Write(big, IdxFile.Create<int>([many.Length], many), compress: false);
            Assert.Equal(many, IdxReader.Read(big).GetData<int>().ToArray());

            Assert.Throws<ArgumentException>(() => IdxWriter.Write("", file, compress: false));
            Assert.Throws<ArgumentNullException>(() => IdxWriter.Write(raw, null!, compress: false));
            Assert.Throws<ArgumentNullException>(() => IdxWriter.Write((Stream)null!, file));
            Assert.Throws<ArgumentNullException>(() => IdxWriter.Write(new MemoryStream(), null!));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Dataset_ShuffleAndSplit_KeepEachImageWithItsLabel_AndArePermutations()
    {
        // Image i is filled with the byte i (and its label is i % 7), so every image says where it came from.
        const int count = 200;
        byte[] pixels = new byte[count * 4];
        ushort[] labels = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            pixels.AsSpan(i * 4, 4).Fill((byte)i);
            labels[i] = (ushort)(i % 7);
        }

        var data = new Dataset(pixels, labels, 2, 2);
        Dataset shuffled = data.Shuffle(seed: 5);
        Assert.NotEqual(pixels, shuffled.RawPixels.ToArray());
        var seen = new HashSet<int>();
        for (int j = 0; j < count; j++)
        {
            ReadOnlySpan<byte> image = shuffled.Image(j);
            int origin = image[0];
            Assert.True(image.IndexOfAnyExcept((byte)origin) < 0, $"image {j} is a mix of images");
            Assert.Equal(origin % 7, shuffled.Labels[j]);
            Assert.True(seen.Add(origin), $"image {origin} appears twice");
        }

        (Dataset train, Dataset dev) = data.Split(50, seed: 5);
        Assert.Equal((150, 50), (train.Count, dev.Count));
        Assert.Equal(shuffled.RawPixels[..(50 * 4)].ToArray(), dev.RawPixels.ToArray());
        Assert.Equal(shuffled.Labels[50..].ToArray(), train.Labels.ToArray());
        Assert.Equal(0, data.Split(0, seed: 1).Dev.Count);
        Assert.Equal(0, data.Split(count, seed: 1).Train.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(-1, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(count + 1, seed: 1));

        Dataset unlabelled = Dataset.Unlabeled(pixels, 2, 2).Shuffle(seed: 5);
        Assert.False(unlabelled.HasLabels);
        Assert.Equal(shuffled.RawPixels.ToArray(), unlabelled.RawPixels.ToArray());
    }

    [Fact]
    public void Dataset_ArgumentErrors_SayWhatWasExpected()
    {
        var constructor = Assert.Throws<ArgumentException>(() => new Dataset(new byte[10], new ushort[2], 2, 2));
        Assert.StartsWith("Expected a multiple of 2 × 2 = 4 pixel bytes, got 10", constructor.Message);
        var labelCount = Assert.Throws<ArgumentException>(() => new Dataset(new byte[8], new ushort[3], 2, 2));
        Assert.StartsWith("Expected one label per image: 2 labels, got 3", labelCount.Message);
        Assert.StartsWith("Expected a multiple of 2 × 2 = 4 pixel bytes, got 6", Assert.Throws<ArgumentException>(() => Dataset.Unlabeled(new byte[6], 2, 2)).Message);

        var data = new Dataset(new byte[12], [1, 2, 3], 2, 2);
        Assert.Equal("3 labelled 2 × 2 images", data.ToString());
        Assert.Equal("3 unlabelled 2 × 2 images", Dataset.Unlabeled(new byte[12], 2, 2).ToString());
        Assert.Equal(4, data.Image(2).Length);
        Assert.StartsWith("Image index must be in [0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => data.Image(3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Image(-1));
        Assert.StartsWith("Range [2, 4) exceeds the dataset's 3 images.", Assert.Throws<ArgumentOutOfRangeException>(() => data.Slice(2, 2)).Message);
        Assert.StartsWith("This dataset has no labels (it was read from an unlabelled file", Assert.Throws<InvalidOperationException>(() => Dataset.Unlabeled(new byte[4], 2, 2).Labels.Length).Message);

        Assert.Throws<ArgumentNullException>(() => data.CopyBatchTo<float>([0], null!, default));
        Assert.StartsWith("Expected a 4 × 2 destination, got 4 × 3.", Assert.Throws<ArgumentException>(() => data.CopyBatchTo<float>([0, 1], new Matrix<float>(4, 3), default)).Message);
        Assert.StartsWith("Expected a 4 × 2 destination, got 5 × 2.", Assert.Throws<ArgumentException>(() => data.CopyBatchTo<float>([0, 1], new Matrix<float>(5, 2), default)).Message);
        Assert.StartsWith("Expected 2 label slots (or none), got 1.", Assert.Throws<ArgumentException>(() => data.CopyBatchTo<float>([0, 1], new Matrix<float>(4, 2), new ushort[1])).Message);
        Assert.StartsWith("Image index at position 1 must be in [0, 3).", Assert.Throws<ArgumentOutOfRangeException>(() => data.CopyBatchTo<float>([0, 3], new Matrix<float>(4, 2), default)).Message);
        Assert.Equal("This dataset has no labels.", Assert.Throws<InvalidOperationException>(() => Dataset.Unlabeled(new byte[8], 2, 2).CopyBatchTo<float>([0], new Matrix<float>(4, 1), new ushort[1])).Message);

        ushort[] slots = new ushort[2];
        data.CopyBatchTo<float>([2, 0], new Matrix<float>(4, 2), slots);
        Assert.Equal([3, 1], slots);
    }

    [Fact]
    public void Dataset_Density_IsTheShareOfNonZeroPixels()
    {
        Assert.Equal(0.375, new Dataset([0, 1, 0, 0, 9, 0, 0, 7], [0, 0], 2, 2).Density);
        Assert.Equal(0, Dataset.Unlabeled([], 2, 2).Density);
        Assert.Equal(1, Dataset.Unlabeled([1, 2, 3, 4], 2, 2).Density);
    }

    [Fact]
    public void PngCrc_IsTheStandardCrc32()
    {
        // The CRC-32 of "IEND" in every PNG file, and of "123456789" (the standard check value).
        Assert.Equal(0xAE426082u, PngReader.Crc32("IEND"u8));
        Assert.Equal(0xCBF43926u, PngReader.Crc32("123456789"u8));
    }

    private static string CsvHeader(bool labelled, int fields = -1) =>
        string.Join(",", Enumerable.Range(0, fields < 0 ? (labelled ? 785 : 784) : fields).Select(i => labelled ? (i == 0 ? "label" : $"pixel{i - 1}") : $"pixel{i}"));

    private static string CsvRow(int fields, string first = "1", int at = -1, string value = "0") =>
        string.Join(",", Enumerable.Range(0, fields).Select(i => i == at ? value : i == 0 ? first : "0"));

    public static TheoryData<string, bool, string, int, int, string> CsvCases => new()
    {
        { "empty", true, "", 1, 1, "the file is empty: expected the header 'label,pixel0,…,pixel783'." },
        { "empty, unlabelled", false, "", 1, 1, "the file is empty: expected the header 'pixel0,…,pixel783'." },
        { "header field", true, CsvHeader(true).Replace("pixel1,", "pixelX,"), 1, 14, "header field 3 is 'pixelX': expected 'pixel1' (the header should be 'label,pixel0,…,pixel783')." },
        { "header field long", false, "abcdefghijklmnopqrstuvwxyz," + CsvHeader(false), 1, 1, "header field 1 is 'abcdefghijklmnopqrst…': expected 'pixel0' (the header should be 'pixel0,…,pixel783')." },
        { "header field of 20", false, "abcdefghijklmnopqrst," + CsvHeader(false), 1, 1, "header field 1 is 'abcdefghijklmnopqrst': expected 'pixel0' (the header should be 'pixel0,…,pixel783')." },
        { "header too long", true, CsvHeader(true) + ",pixel784", 1, CsvHeader(true).Length + 2, "the header has 786 fields: expected 785 ('label,pixel0,…,pixel783')." },
        { "header too short", true, CsvHeader(true, 784), 1, CsvHeader(true, 784).Length + 1, "the header has 784 fields: expected 785 ('label,pixel0,…,pixel783')." },
        { "no rows", true, CsvHeader(true) + "\n", 2, 1, "the file has a header but no data rows." },
        { "blank line", true, CsvHeader(true) + "\n\n" + CsvRow(785) + "\n", 2, 1, "empty line: expected 785 comma-separated integers." },
        { "too many", true, CsvHeader(true) + "\n" + CsvRow(785) + "\n" + CsvRow(786) + "\n", 3, 1571, "too many fields: expected 785, found at least 786." },
        { "not a number", true, CsvHeader(true) + "\n" + CsvRow(785, at: 2, value: "x") + "\n", 2, 5, "field 3 (pixel1) is 'x': expected an integer 0–255." },
        { "label 10", true, CsvHeader(true) + "\n" + CsvRow(785, first: "10") + "\n", 2, 1, "field 1 (label) is 10: expected 0–9." },
        { "label -1", true, CsvHeader(true) + "\n" + CsvRow(785, first: "-1") + "\n", 2, 1, "field 1 (label) is -1: expected 0–9." },
        { "pixel 256", true, CsvHeader(true) + "\n" + CsvRow(785, at: 1, value: "256") + "\n", 2, 3, "field 2 (pixel0) is 256: expected 0–255." },
        { "pixel, unlabelled", false, CsvHeader(false) + "\n" + CsvRow(784, first: "300") + "\n", 2, 1, "field 1 (pixel0) is 300: expected 0–255." },
        { "too few", true, CsvHeader(true) + "\n" + CsvRow(784) + "\n", 2, CsvRow(784).Length + 1, "too few fields: expected 785, found 784." },
        { "row starts with a comma", true, CsvHeader(true) + "\n," + CsvRow(784) + "\n", 2, 1, "field 1 (label) is '': expected an integer 0–9." },
        { "blank line, then NUL", true, CsvHeader(true) + "\n" + CsvRow(785) + "\n\n\0", 3, 1, "empty line: expected 785 comma-separated integers." },
    };

    [Theory]
    [MemberData(nameof(CsvCases))]
    public void KaggleCsv_BadFiles_ExactMessageLineAndColumn(string what, bool labelled, string text, int line, int column, string problem)
    {
        var error = Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader(text), labelled, "k.csv"));
        Assert.Equal($"k.csv: line {line}, column {column}: {problem}", error.Message);
        Assert.Equal(line, error.Data[DataErrors.LineKey]);
        Assert.Equal(column, error.Data[DataErrors.ColumnKey]);
        Assert.NotNull(what);
    }

    [Fact]
    public void KaggleCsv_GoodFiles_ReadEveryRow_WithOrWithoutTheLastNewline()
    {
        string rows = CsvRow(785, first: "7", at: 784, value: "255") + "\n" + CsvRow(785, first: "2", at: 1, value: " 9 ");
        foreach (string text in new[] { CsvHeader(true) + "\n" + rows, CsvHeader(true) + "\r\n" + rows + "\n", "\uFEFF" + CsvHeader(true) + "\n" + rows })
        {
            Dataset data = KaggleCsv.Read(new StringReader(text), labelled: true, "k.csv");
            Assert.Equal(2, data.Count);
            Assert.Equal([7, 2], data.Labels.ToArray());
            Assert.Equal(255, data.Image(0)[783]);
            Assert.Equal(9, data.Image(1)[0]);
        }

        Assert.Throws<ArgumentNullException>(() => KaggleCsv.Read(null!, labelled: true));
        Assert.Throws<ArgumentNullException>(() => KaggleCsv.Read(new StringReader(""), labelled: true, null!));
    }

    [Theory]
    [InlineData(40, 40, 1f, 0)]                                            // 2 × 2 source pixels per target pixel
    [InlineData(30, 30, 1f, 0)]                                            // 1.5 × 1.5: fractional weights
    [InlineData(30, 12, 1f, 0)]                                            // wide: a 20 × 8 box
    [InlineData(40, 40, 0.5f, 0)]                                          // grey ink: levels are divided by the peak
    [InlineData(40, 40, 1f, 1)]                                            // mass in the top-left corner: the box overhangs the field's bottom and right
    [InlineData(30, 12, 0.25f, 1)]
    [InlineData(40, 40, 1f, 2)]                                            // mass in the bottom-right corner: the box overhangs the top and left
    [InlineData(12, 30, 1f, 2)]
    public void ToMnist_AreaAveragesTheCrop_AndCentresItsMass(int cropW, int cropH, float peak, int heavyCorner)
    {
        // Light ink on black with a 3-pixel empty border; every ink level is above the crop threshold (10 % of the peak).
        int w = cropW + 6, h = cropH + 6;
        float[] pixels = new float[w * h];
        for (int y = 0; y < cropH; y++)
        {
            for (int x = 0; x < cropW; x++)
            {
                // A heavy corner: a solid block in the top-left (1) or bottom-right (2) corner, and thin lines along
                // that corner's two edges that make the crop the whole cropW × cropH (the rest is empty).
                int cx = heavyCorner == 2 ? cropW - 1 - x : x, cy = heavyCorner == 2 ? cropH - 1 - y : y;
                float level = heavyCorner == 0 ? 0.2f + (0.8f * (((3 * x) + (7 * y)) % 11) / 10)
                    : cx < 6 && cy < 6 ? 1
                    : cx == 0 || cy == 0 ? 0.15f
                    : 0;
                pixels[((y + 3) * w) + x + 3] = peak * level;
            }
        }

        if (heavyCorner == 0)
        {
            pixels[(3 * w) + 3] = peak;                                    // the peak (a heavy corner's block holds it)
        }

        float[] actual = DigitImage.ToMnist(new GreyImage(w, h, pixels));

        // Oracle: exact area averages by quarter-pixel supersampling (every target edge falls on a half pixel here).
        double scale = 20.0 / Math.Max(cropW, cropH);
        int boxW = (int)Math.Round(cropW * scale), boxH = (int)Math.Round(cropH * scale);
        int quarterW = 2 * cropW / boxW, quarterH = 2 * cropH / boxH;     // quarter cells per target pixel
        Assert.Equal(2 * cropW, quarterW * boxW);
        Assert.Equal(2 * cropH, quarterH * boxH);
        var small = new double[boxH, boxW];
        double mass = 0, mx = 0, my = 0;
        for (int ty = 0; ty < boxH; ty++)
        {
            for (int tx = 0; tx < boxW; tx++)
            {
                double sum = 0;
                for (int qy = ty * quarterH; qy < (ty + 1) * quarterH; qy++)
                {
                    for (int qx = tx * quarterW; qx < (tx + 1) * quarterW; qx++)
                    {
                        sum += pixels[(((qy / 2) + 3) * w) + (qx / 2) + 3] / peak;
                    }
                }

                small[ty, tx] = sum / (quarterW * quarterH);
                mass += small[ty, tx];
                mx += small[ty, tx] * tx;
                my += small[ty, tx] * ty;
            }
        }

        int offsetX = (int)Math.Round(14 - (mx / mass)), offsetY = (int)Math.Round(14 - (my / mass));
        float[] expected = new float[784];
        int clipped = 0;
        for (int ty = 0; ty < boxH; ty++)
        {
            for (int tx = 0; tx < boxW; tx++)
            {
                int fx = tx + offsetX, fy = ty + offsetY;
                if (fx is >= 0 and < 28 && fy is >= 0 and < 28)
                {
                    expected[(fy * 28) + fx] = (float)small[ty, tx];
                }
                else
                {
                    clipped++;                                             // outside the 28 × 28 field: dropped
                }
            }
        }

        Assert.Equal(heavyCorner != 0, clipped > 0);

        for (int k = 0; k < 784; k++)
        {
            Assert.True(Math.Abs(expected[k] - actual[k]) < 1e-5, $"pixel ({k % 28}, {k / 28}): expected {expected[k]}, got {actual[k]}");
        }
    }

    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10];

    private static byte[] Chunk(string type, params byte[] data)
    {
        byte[] typeAndData = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        byte[] chunk = new byte[12 + data.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        typeAndData.CopyTo(chunk, 4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), PngReader.Crc32(typeAndData));
        return chunk;
    }

    private static byte[] Ihdr(uint width, uint height, byte depth = 8, byte colorType = 0, byte compression = 0, byte filter = 0, byte interlace = 0)
    {
        byte[] data = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data, width);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), height);
        (data[8], data[9], data[10], data[11], data[12]) = (depth, colorType, compression, filter, interlace);
        return Chunk("IHDR", data);
    }

    private static byte[] Idat(params byte[] scanlines)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(scanlines);
        }

        return Chunk("IDAT", output.ToArray());
    }

    private static readonly byte[] ZlibOfTwoBytes = Idat(0, 0)[8..^4];

    /// <summary>A 1-row PNG whose row needs exactly (<paramref name="past"/> past) the most bytes its compressed data could hold: 1 100 per byte, plus 4 096.</summary>
    private static byte[] AtTheBound(int past) =>
        [.. PngSignature, .. Ihdr((uint)((ZlibOfTwoBytes.Length * 1100) + 4095 + past), 1), .. Chunk("IDAT", ZlibOfTwoBytes), .. Chunk("IEND")];

    public static TheoryData<string, byte[], string> PngCases => new()
    {
        { "width 0", [.. PngSignature, .. Ihdr(0, 5)], "0 × 5 pixels; images of 1 to 16777216 pixels are read" },
        { "height 0", [.. PngSignature, .. Ihdr(5, 0)], "5 × 0 pixels; images of 1 to 16777216 pixels are read" },
        { "one pixel too many", [.. PngSignature, .. Ihdr(4097, 4096)], "4097 × 4096 pixels; images of 1 to 16777216 pixels are read" },
        { "2^32 wrap", [.. PngSignature, .. Ihdr(65536, 65536)], "65536 × 65536 pixels; images of 1 to 16777216 pixels are read" },
        { "at the limit", [.. PngSignature, .. Ihdr(4096, 4096), .. Chunk("IDAT", new byte[7]), .. Chunk("IEND")], "7 bytes of compressed image data cannot hold the 4096 × 4096 pixels the header declares (truncated, or a forged header)" },
        { "one past the bound", AtTheBound(1), $"{ZlibOfTwoBytes.Length} bytes of compressed image data cannot hold the {(ZlibOfTwoBytes.Length * 1100) + 4096} × 1 pixels the header declares (truncated, or a forged header)" },
        { "at the bound", AtTheBound(0), $"the image data inflates to 2 bytes, but the header needs {(ZlibOfTwoBytes.Length * 1100) + 4096} (truncated)" },
        { "IHDR 12 bytes", [.. PngSignature, .. Chunk("IHDR", new byte[12])], "IHDR has 12 bytes, expected 13" },
        { "depth", [.. PngSignature, .. Ihdr(1, 1, depth: 3)], "colour type 0 with bit depth 3 is not a valid PNG combination" },
        { "colour type 5", [.. PngSignature, .. Ihdr(1, 1, colorType: 5)], "colour type 5 with bit depth 8 is not a valid PNG combination" },
        { "compression", [.. PngSignature, .. Ihdr(1, 1, compression: 1)], "unknown compression or filter method" },
        { "filter method", [.. PngSignature, .. Ihdr(1, 1, filter: 1)], "unknown compression or filter method" },
        { "interlaced", [.. PngSignature, .. Ihdr(1, 1, interlace: 1)], "interlaced (Adam7) PNGs are not supported; save the image without interlacing" },
        { "first chunk", [.. PngSignature, .. Chunk("tEXt", 65), .. Ihdr(1, 1)], "the first chunk is tEXt, not IHDR" },
        { "critical", [.. PngSignature, .. Ihdr(1, 1), .. Chunk("ABCD"), .. Idat(0, 0), .. Chunk("IEND")], "unknown critical chunk ABCD" },
        { "no palette", [.. PngSignature, .. Ihdr(1, 1, colorType: 3), .. Idat(0, 0), .. Chunk("IEND")], "a palette image without a valid PLTE chunk" },
        { "bad palette", [.. PngSignature, .. Ihdr(1, 1, colorType: 3), .. Chunk("PLTE", 1, 2, 3, 4), .. Idat(0, 0), .. Chunk("IEND")], "a palette image without a valid PLTE chunk" },
        { "palette index", [.. PngSignature, .. Ihdr(2, 1, colorType: 3), .. Chunk("PLTE", 1, 2, 3, 4, 5, 6), .. Idat(0, 1, 2), .. Chunk("IEND")], "pixel (1, 0) uses palette entry 2, but the palette has 2" },
        { "claims more", [.. PngSignature, 0, 0, 0, 100, (byte)'I', (byte)'H', (byte)'D', (byte)'R', 1, 2, 3, 4, 5], "a chunk claims 100 bytes but only 1 remain (truncated)" },
        { "ends in a chunk", [.. PngSignature, 0, 0, 0, 0, (byte)'I'], "the file ends inside a chunk (truncated)" },
        { "no IEND", [.. PngSignature, .. Ihdr(1, 1), .. Idat(0, 0)], "the file ends inside a chunk (truncated)" },
        { "CRC", [.. PngSignature, .. Ihdr(1, 1)[..^1], 0], "chunk IHDR fails its CRC check (damaged file)" },
    };

    [Theory]
    [MemberData(nameof(PngCases))]
    public void Png_BadStructure_ExactMessages(string what, byte[] png, string problem)
    {
        var error = Assert.Throws<InvalidDataException>(() => DigitImage.Decode(png, "p.png"));
        Assert.Equal($"p.png: {problem}.", error.Message);
        Assert.NotNull(what);
    }

    [Fact]
    public void Png_AncillaryChunksAreSkipped_AndPaletteTransparencyShowsTheWhitePage()
    {
        // Two palette pixels: entry 0 black and opaque, entry 1 black and fully transparent (tRNS), entry 2 mid grey
        // with no tRNS entry (opaque), behind an ancillary chunk the reader does not know.
        byte[] png = [.. PngSignature, .. Ihdr(3, 1, colorType: 3), .. Chunk("abCD", 1), .. Chunk("PLTE", 0, 0, 0, 0, 0, 0, 128, 128, 128), .. Chunk("tRNS", 255, 0), .. Idat(0, 0, 1, 2), .. Chunk("IEND")];
        float[] grey = DigitImage.Decode(png, "p.png").Pixels;
        Assert.Equal(0f, grey[0]);
        Assert.Equal(1f, grey[1]);
        Assert.Equal(128 / 255f, grey[2], 1e-6f);

        // A 4096 × 4096 one-bit image (2 MB of pixels) fits the limit and decodes.
        int rowBytes = 512;
        byte[] scanlines = new byte[4096 * (rowBytes + 1)];
        byte[] big = [.. PngSignature, .. Ihdr(4096, 4096, depth: 1), .. Idat(scanlines), .. Chunk("IEND")];
        Assert.Equal(4096 * 4096, DigitImage.Decode(big, "big.png").Pixels.Length);
    }

    [Fact]
    public void GreyImageAndIdxFile_ArgumentErrors_SayWhatWasExpected()
    {
        Assert.StartsWith("Expected 2 × 3 = 6 levels, got 5.", Assert.Throws<ArgumentException>(() => new GreyImage(2, 3, new float[5])).Message);
        Assert.StartsWith("Level 1 is 1.5; expected a value in [0, 1].", Assert.Throws<ArgumentException>(() => new GreyImage(2, 1, [0, 1.5f])).Message);
        Assert.StartsWith("Level 0 is NaN; expected a value in [0, 1].", Assert.Throws<ArgumentException>(() => new GreyImage(1, 1, [float.NaN])).Message);
        Assert.StartsWith("Level 0 is -0.5; expected a value in [0, 1].", Assert.Throws<ArgumentException>(() => new GreyImage(1, 1, [-0.5f])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GreyImage(0, 1, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GreyImage(1, 0, []));
        Assert.Throws<ArgumentNullException>(() => new GreyImage(1, 1, null!));

        Assert.StartsWith("Expected 1 to 255 dimensions, got 0.", Assert.Throws<ArgumentException>(() => IdxFile.Create<byte>([], [])).Message);
        Assert.StartsWith("Expected 1 to 255 dimensions, got 256.", Assert.Throws<ArgumentException>(() => IdxFile.Create<byte>(Enumerable.Repeat(1, 256).ToArray(), [1])).Message);
        Assert.Equal(255, IdxFile.Create<byte>(Enumerable.Repeat(1, 255).ToArray(), [1]).Dimensions.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => IdxFile.Create<byte>([2, -1], []));
        Assert.StartsWith("The dimensions describe more elements than an array can hold.", Assert.Throws<ArgumentException>(() => IdxFile.Create<byte>([65536, 65536], [])).Message);
        Assert.Equal("dimensions", Assert.Throws<ArgumentException>(() => IdxFile.Create<byte>([Array.MaxLength + 1], [])).ParamName);
        var atMost = Assert.Throws<ArgumentException>(() => IdxFile.Create<byte>([Array.MaxLength], []));    // as many as an array holds: only the data is short
        Assert.StartsWith($"The dimensions ({Array.MaxLength}) describe {Array.MaxLength} elements, but 0 were given.", atMost.Message);
        Assert.Equal("data", atMost.ParamName);
        Assert.StartsWith("The dimensions (2 × 3) describe 6 elements, but 5 were given.", Assert.Throws<ArgumentException>(() => IdxFile.Create<int>([2, 3], new int[5])).Message);
        Assert.Equal("This IDX file holds UnsignedByte elements (Byte), not Int32.", Assert.Throws<InvalidOperationException>(() => IdxFile.Create<byte>([1], [1]).GetData<int>().Length).Message);
        Assert.Equal("Int64 is not an IDX element type: use byte, sbyte, short, int, float or double.", Assert.Throws<NotSupportedException>(() => IdxFile.Create<long>([1], [1L])).Message);
        Assert.Equal("IDX UnsignedByte 2 × 3", IdxFile.Create<byte>([2, 3], new byte[6]).ToString());
    }

    [Fact]
    public void FilesGivenByPath_MissingOrTooLarge_SayWhich()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"mnistnet-paths-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string missing = Path.Combine(folder, "missing.png");
            Assert.Equal($"Image file '{missing}' not found.", Assert.Throws<FileNotFoundException>(() => DigitImage.Load(missing)).Message);
            Assert.Equal($"File '{missing}' not found.", Assert.Throws<FileNotFoundException>(() => IdxReader.Read(missing)).Message);
            Assert.Throws<ArgumentException>(() => DigitImage.Load(""));

            string huge = Path.Combine(folder, "huge.png");
            using (var stream = File.Create(huge))
            {
                stream.SetLength(DigitImage.MaxFileBytes + 1L);            // sparse: no 16 MB written
            }

            Assert.Equal($"{huge}: {DigitImage.MaxFileBytes + 1L} bytes; images up to {DigitImage.MaxFileBytes} bytes are read.", Assert.Throws<InvalidDataException>(() => DigitImage.Load(huge)).Message);

            using (var stream = File.Create(huge))
            {
                stream.SetLength(DigitImage.MaxFileBytes);                 // exactly the limit: read, then refused for what it holds
            }

            Assert.Equal($"{huge}: not a PNG or PGM (P2/P5) image.", Assert.Throws<InvalidDataException>(() => DigitImage.Load(huge)).Message);

            string pgm = Path.Combine(folder, "ok.pgm");
            File.WriteAllBytes(pgm, "P2 1 1 1 1"u8.ToArray());
            Assert.Equal([1f], DigitImage.Load(pgm).Pixels);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void PathArguments_NullOrEmpty_NameThePathParameter()
    {
        IdxFile file = IdxFile.Create<byte>([1], [0]);
        Action[] nulls = [() => DigitImage.Load(null!), () => IdxReader.Read((string)null!), () => IdxWriter.Write((string)null!, file), () => KaggleCsv.ReadTrain(null!), () => KaggleCsv.ReadTest(null!)];
        Action[] empties = [() => DigitImage.Load(""), () => IdxReader.Read(""), () => IdxWriter.Write("", file), () => KaggleCsv.ReadTrain(""), () => KaggleCsv.ReadTest("")];
        Assert.All(nulls, call => Assert.Equal("path", Assert.Throws<ArgumentNullException>(call).ParamName));
        Assert.All(empties, call => Assert.Equal("path", Assert.Throws<ArgumentException>(call).ParamName));
        Assert.Equal("file", Assert.Throws<ArgumentNullException>(() => IdxWriter.Write(Path.Combine(Path.GetTempPath(), "never-written.idx"), null!)).ParamName);
    }

    [Fact]
    public void KaggleCsv_Utf16FileWithItsByteOrderMark_Reads()
    {
        string folder = Directory.CreateTempSubdirectory("mnistnet-utf16-").FullName;
        string path = Path.Combine(folder, "train.csv");
        try
        {
            File.WriteAllText(path, CsvHeader(true) + "\n" + CsvRow(785, first: "7", at: 784, value: "200") + "\n", System.Text.Encoding.Unicode);
            Dataset data = KaggleCsv.ReadTrain(path);
            Assert.Equal([7], data.Labels.ToArray());
            Assert.Equal(200, data.Image(0)[783]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Pgm_OfExactlyTheMaximumPixels_Reads()
    {
        byte[] pgm = [.. "P5 4096 4096 255\n"u8.ToArray(), .. new byte[DigitImage.MaxPixels]];
        pgm[^1] = 255;
        GreyImage image = DigitImage.Decode(pgm, "max.pgm");
        Assert.Equal((4096, 4096), (image.Width, image.Height));
        Assert.Equal(1f, image.Pixels[^1]);
        Assert.Equal(0f, image.Pixels[0]);
    }

    public static TheoryData<string, string> PgmCases => new()
    {
        { "P5 0 2 255 ", "p.pgm: 0 × 2 pixels; images of 1 to " + DigitImage.MaxPixels + " pixels are read." },
        { "P5 2 0 255 ", "p.pgm: 2 × 0 pixels; images of 1 to " + DigitImage.MaxPixels + " pixels are read." },
        { "P5 5000 5000 255 ", "p.pgm: 5000 × 5000 pixels; images of 1 to " + DigitImage.MaxPixels + " pixels are read." },
        { "P5 1 1 0 ", "p.pgm: maximum value 0; expected 1 to 65535." },
        { "P5 1 1 65536 ", "p.pgm: maximum value 65536; expected 1 to 65535." },
        { "P5 2 2 255 abc", "p.pgm: 3 bytes of pixels, expected 4 (truncated)." },
        { "P5 2 2 256 abcdefg", "p.pgm: 7 bytes of pixels, expected 8 (truncated)." },
        { "P5 2 2 256", "p.pgm: 0 bytes of pixels, expected 8 (truncated)." },
        { "P2 2 2 9 1 2 3", "p.pgm: 6 bytes left for 4 text pixels, which need at least 7 (truncated)." },
        { "P2 2 2 9 1 2 3 x", "p.pgm: expected the pixel 3 as a decimal number at byte 15." },
        { "P2 2 2 9 1 2 3 10", "p.pgm: pixel 3 is 10, above the maximum value 9." },
        { "P2 x", "p.pgm: expected the width as a decimal number at byte 3." },
        { "P2 2 #c\n y", "p.pgm: expected the height as a decimal number at byte 9." },
        { "P2 2 2 ", "p.pgm: expected the maximum value as a decimal number at byte 7." },
        { "P2 2 2 99999999999 0 0 0 0", "p.pgm: expected the maximum value as a decimal number at byte 7." },
        { "P2 21474836470 1 1 0", "p.pgm: expected the width as a decimal number at byte 3." },
        { "P2 2147483647 1 1 0", "p.pgm: 2147483647 × 1 pixels; images of 1 to " + DigitImage.MaxPixels + " pixels are read." },
        { "P5 24929 673 255 ", "p.pgm: 24929 × 673 pixels; images of 1 to " + DigitImage.MaxPixels + " pixels are read." },
        { "P2 # a comment to the end", "p.pgm: expected the width as a decimal number at byte 25." },
        { "P2 2 1 255\n0 ", "p.pgm: expected the pixel 1 as a decimal number at byte 13." },     // 3 bytes left: just enough to try
    };

    [Theory]
    [MemberData(nameof(PgmCases))]
    public void Pgm_BadHeadersAndPixels_ExactMessages(string file, string message)
    {
        var error = Assert.Throws<InvalidDataException>(() => DigitImage.Decode(System.Text.Encoding.ASCII.GetBytes(file), "p.pgm"));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Pgm_MaximumValues_ChooseOneOrTwoBytesPerPixel()
    {
        Assert.Equal([0f, 1f], DigitImage.Decode([.. "P5 2 1 255\n"u8.ToArray(), 0, 255]).Pixels);
        Assert.Equal([1f / 256, 1f], DigitImage.Decode([.. "P5 2 1 256\n"u8.ToArray(), 0, 1, 1, 0]).Pixels);
        Assert.Equal([0f, 1f], DigitImage.Decode([.. "P5 2 1 1\n"u8.ToArray(), 0, 1]).Pixels);
        Assert.Equal([1f / 65535, 1f], DigitImage.Decode([.. "P5 2 1 65535\n"u8.ToArray(), 0, 1, 255, 255]).Pixels);
        Assert.Equal([0.5f, 1f], DigitImage.Decode("P2 2 1 2 1 2"u8).Pixels);
    }

    private static string Crc(byte[] gzip) => BitConverter.ToUInt32(gzip, gzip.Length - 8).ToString("X8", System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>A stream that cannot seek and hands out at most three bytes per read.</summary>
    internal sealed class Unseekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 3));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 3)]);
    }
}
