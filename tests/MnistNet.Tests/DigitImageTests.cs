using System.Buffers.Binary;
using MnistNet.Data;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

public class DigitImageTests
{
    public static TheoryData<int, int, int> Formats()
    {
        var data = new TheoryData<int, int, int>();
        (int ColorType, int[] Depths)[] formats = [(0, [1, 2, 4, 8, 16]), (2, [8, 16]), (3, [1, 2, 4, 8]), (4, [8, 16]), (6, [8, 16])];
        foreach ((int colorType, int[] depths) in formats)
        {
            foreach (int depth in depths)
            {
                for (int filter = 0; filter <= 4; filter++)
                {
                    data.Add(colorType, depth, filter);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Png_EveryColourTypeDepthAndFilter_DecodesToTheExpectedGreyLevels(int colorType, int depth, int filter)
    {
        foreach ((int width, int height) in new[] { (1, 1), (7, 3), (13, 5) })
        {
            var random = new Random((colorType * 1000) + (depth * 10) + filter + width);
            int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
            int max = (1 << depth) - 1;
            int[] samples = new int[width * height * channels];
            for (int i = 0; i < samples.Length; i++)
            {
                samples[i] = random.Next(max + 1);
            }

            byte[] palette = [];
            if (colorType == 3)
            {
                palette = new byte[3 * (max + 1)];
                random.NextBytes(palette);
            }

            byte[] png = PngReader.Encode(width, height, depth, colorType, Filtered(samples, width, height, channels, depth, filter), palette);
            GreyImage image = DigitImage.Decode(png, "test.png");

            Assert.Equal(width, image.Width);
            Assert.Equal(height, image.Height);
            for (int p = 0; p < width * height; p++)
            {
                double expected = Expected(samples.AsSpan(p * channels, channels), colorType, max, palette);
                Assert.True(Math.Abs(image.Pixels[p] - expected) < 1e-5, $"pixel {p}: {image.Pixels[p]} vs {expected}");
            }
        }
    }

    [Fact]
    public void ToPng_RoundTripsEightBitLevels()
    {
        var random = new Random(1);
        float[] levels = Enumerable.Range(0, 9 * 4).Select(_ => random.Next(256) / 255f).ToArray();
        var image = new GreyImage(9, 4, levels);
        GreyImage back = DigitImage.Decode(image.ToPng());
        Assert.Equal(levels, back.Pixels);
    }

    [Fact]
    public void DamagedPngs_AreRefused_NamingTheProblem()
    {
        byte[] good = new GreyImage(4, 4, new float[16]).ToPng();

        byte[] flipped = (byte[])good.Clone();
        flipped[^20] ^= 0x40;                                           // inside the IDAT chunk
        Assert.Contains("CRC", Error(flipped));

        Assert.Contains("truncated", Error(good[..(good.Length - 15)]));

        byte[] interlaced = (byte[])good.Clone();
        interlaced[8 + 8 + 12] = 1;                                     // IHDR's interlace byte
        FixCrc(interlaced, 8);
        Assert.Contains("interlaced", Error(interlaced));

        byte[] huge = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(huge.AsSpan(16), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(huge.AsSpan(20), 100_000);
        FixCrc(huge, 8);
        Assert.Contains("pixels", Error(huge));

        Assert.Contains("not a PNG or PGM", Error("GIF89a"u8.ToArray()));
        Assert.StartsWith("damaged.png:", Error(flipped));
    }

    [Fact]
    public void SmallPng_DeclaringAHugeImage_IsRefused_WithoutAllocatingForIt()
    {
        // 4 000 × 4 000 RGBA at 16 bits (128 MB of pixels) declared by a file of about a hundred bytes.
        byte[] png = PngReader.Encode(4000, 4000, bitDepth: 16, colorType: 6, new byte[100]);
        Assert.True(png.Length < 200);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => DigitImage.Decode(png, "forged.png"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("cannot hold the 4000 × 4000 pixels", error.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Pgm_BinaryAndText_WithComments_Decode()
    {
        byte[] p5 = [.. "P5\n# a comment\n3 2\n255\n"u8.ToArray(), 0, 51, 255, 102, 204, 153];
        Assert.Equal([0f, 0.2f, 1f, 0.4f, 0.8f, 0.6f], DigitImage.Decode(p5).Pixels);
        byte[] p2 = "P2 2 2 4 0 1 2\n# c\n4"u8.ToArray();
        Assert.Equal([0f, 0.25f, 0.5f, 1f], DigitImage.Decode(p2).Pixels);
        Assert.Contains("above the maximum", Assert.Throws<InvalidDataException>(() => DigitImage.Decode("P2 1 1 4 9"u8)).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => DigitImage.Decode("P5 2 2 255\n\u0001"u8)).Message);
    }

    [Fact]
    public void ToMnist_OfAnEnlargedInvertedOffCentreMnistDigit_GivesBackTheDigit()
    {
        Dataset test = MnistDataset.Load(TestData.DataFolder).Test!.Slice(0, 20);
        Matrix<float> x = test.Pixels<float>();
        for (int j = 0; j < test.Count; j++)
        {
            // Black ink on a white page, 4× larger, off centre: how a scan or a drawing arrives.
            const int scale = 4, width = 150, height = 130, left = 9, top = 3;
            float[] page = Enumerable.Repeat(1f, width * height).ToArray();
            for (int y = 0; y < 28 * scale; y++)
            {
                for (int xx = 0; xx < 28 * scale; xx++)
                {
                    page[((top + y) * width) + left + xx] = 1 - x[((y / scale) * 28) + (xx / scale), j];
                }
            }

            float[] mnist = DigitImage.ToMnist(new GreyImage(width, height, page));
            double dot = 0, a = 0, b = 0;
            for (int k = 0; k < 784; k++)
            {
                dot += mnist[k] * x[k, j];
                a += mnist[k] * mnist[k];
                b += x[k, j] * x[k, j];
            }

            double cosine = dot / Math.Sqrt(a * b);
            Assert.True(cosine > 0.9, $"image {j}: cosine similarity {cosine:F3}\n{Show(mnist)}\n{Show(Enumerable.Range(0, 784).Select(k => x[k, j]).ToArray())}");
            Assert.All(mnist, v => Assert.InRange(v, 0f, 1f));
            AssertCentredInTwentyBox(mnist);
        }
    }

    [Fact]
    public void ToMnist_WideStroke_FitsTwentyWide_AndBlankPageGivesZeros()
    {
        float[] page = new float[60 * 40];
        for (int y = 18; y < 22; y++)
        {
            for (int x = 5; x < 55; x++)
            {
                page[(y * 60) + x] = 1;                                  // a bright bar on black, 50 × 4
            }
        }

        float[] mnist = DigitImage.ToMnist(new GreyImage(60, 40, page));
        int columns = Enumerable.Range(0, 28).Count(c => Enumerable.Range(0, 28).Any(r => mnist[(r * 28) + c] > 0));
        Assert.Equal(20, columns);
        AssertCentredInTwentyBox(mnist);

        Assert.All(DigitImage.ToMnist(new GreyImage(10, 10, Enumerable.Repeat(1f, 100).ToArray())), v => Assert.Equal(0f, v));
    }

    private static void AssertCentredInTwentyBox(float[] mnist)
    {
        double mass = 0, mx = 0, my = 0;
        int left = 28, right = -1, top = 28, bottom = -1;
        for (int r = 0; r < 28; r++)
        {
            for (int c = 0; c < 28; c++)
            {
                float v = mnist[(r * 28) + c];
                mass += v;
                mx += v * c;
                my += v * r;
                if (v > 0)
                {
                    left = Math.Min(left, c);
                    right = Math.Max(right, c);
                    top = Math.Min(top, r);
                    bottom = Math.Max(bottom, r);
                }
            }
        }

        Assert.InRange(mx / mass, 13.5, 14.5);                         // MNIST: centre of mass at pixel index 14
        Assert.InRange(my / mass, 13.5, 14.5);
        Assert.True(right - left + 1 <= 20 && bottom - top + 1 <= 20, $"ink spans {right - left + 1} × {bottom - top + 1}");
    }

    private static string Show(float[] m) => string.Join("\n", Enumerable.Range(0, 28).Select(r => string.Concat(Enumerable.Range(0, 28).Select(c => m[(r * 28) + c] > 0.5 ? '#' : m[(r * 28) + c] > 0 ? '.' : ' '))));

    private static string Error(byte[] bytes) => Assert.Throws<InvalidDataException>(() => DigitImage.Decode(bytes, "damaged.png")).Message;

    private static void FixCrc(byte[] png, int chunkStart)
    {
        int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(chunkStart));
        uint crc = PngReader.Crc32(png.AsSpan(chunkStart + 4, 4 + length));
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(chunkStart + 8 + length), crc);
    }

    /// <summary>The grey level a reader must produce from one pixel's samples (luma, alpha over white).</summary>
    private static double Expected(ReadOnlySpan<int> s, int colorType, int max, byte[] palette)
    {
        double Luma(double r, double g, double b) => (0.299 * r) + (0.587 * g) + (0.114 * b);
        (double value, double alpha) = colorType switch
        {
            0 => ((double)s[0] / max, 1.0),
            2 => (Luma(s[0], s[1], s[2]) / max, 1.0),
            3 => (Luma(palette[s[0] * 3], palette[(s[0] * 3) + 1], palette[(s[0] * 3) + 2]) / 255, 1.0),
            4 => ((double)s[0] / max, (double)s[1] / max),
            _ => (Luma(s[0], s[1], s[2]) / max, (double)s[3] / max),
        };
        return (value * alpha) + (1 - alpha);
    }

    /// <summary>Packs samples into PNG rows and applies one filter type to every row: the encoder side the reader must undo.</summary>
    private static byte[] Filtered(int[] samples, int width, int height, int channels, int depth, int filter)
    {
        int rowBytes = ((width * channels * depth) + 7) / 8;
        int stride = Math.Max(1, channels * depth / 8);
        byte[] raw = new byte[height * rowBytes];
        for (int y = 0; y < height; y++)
        {
            for (int i = 0; i < width * channels; i++)
            {
                int v = samples[(y * width * channels) + i];
                int bit = i * depth;
                if (depth == 16)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan((y * rowBytes) + (i * 2)), (ushort)v);
                }
                else if (depth == 8)
                {
                    raw[(y * rowBytes) + i] = (byte)v;
                }
                else
                {
                    raw[(y * rowBytes) + (bit / 8)] |= (byte)(v << (8 - depth - (bit % 8)));
                }
            }
        }

        byte[] lines = new byte[height * (rowBytes + 1)];
        for (int y = 0; y < height; y++)
        {
            lines[y * (rowBytes + 1)] = (byte)filter;
            for (int i = 0; i < rowBytes; i++)
            {
                int a = i >= stride ? raw[(y * rowBytes) + i - stride] : 0;
                int b = y > 0 ? raw[((y - 1) * rowBytes) + i] : 0;
                int c = y > 0 && i >= stride ? raw[((y - 1) * rowBytes) + i - stride] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    _ => PaethReference(a, b, c),
                };
                lines[(y * (rowBytes + 1)) + 1 + i] = (byte)(raw[(y * rowBytes) + i] - predictor);
            }
        }

        return lines;
    }

    /// <summary>The Paeth predictor as the PNG specification writes it.</summary>
    private static int PaethReference(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a);
        int pb = Math.Abs(p - b);
        int pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc)
        {
            return a;
        }

        return pb <= pc ? b : c;
    }
}
