namespace MnistNet.Data;

/// <summary>
/// Every image's non-zero pixels, image after image: image i's are [Start[i], Start[i + 1]) of <see cref="Pixel"/>
/// (the pixel's index, increasing) and <see cref="Value"/> (its byte). Built once per dataset; a sparse mini-batch is then
/// gathered by copying the lists of its images instead of scanning every pixel.
/// </summary>
internal sealed class SparseImages
{
    private SparseImages(int[] start, ushort[] pixel, byte[] value)
    {
        Start = start;
        Pixel = pixel;
        Value = value;
    }

    public int[] Start { get; }

    public ushort[] Pixel { get; }

    public byte[] Value { get; }

    /// <summary>The largest image size the index supports (pixel indices are 16-bit).</summary>
    public const int MaxPixels = ushort.MaxValue + 1;

    public static SparseImages Build(byte[] pixels, int count, int perImage)
    {
        if (perImage > MaxPixels)
        {
            return new SparseImages(new int[count + 1], [], []);
        }

        int nonZero = 0;
        foreach (byte b in pixels)
        {
            nonZero += b != 0 ? 1 : 0;
        }

        var start = new int[count + 1];
        var pixel = new ushort[nonZero];
        var value = new byte[nonZero];
        int e = 0;
        for (int i = 0; i < count; i++)
        {
            start[i] = e;
            ReadOnlySpan<byte> image = pixels.AsSpan(i * perImage, perImage);
            for (int k = 0; k < image.Length; k++)
            {
                if (image[k] != 0)
                {
                    pixel[e] = (ushort)k;
                    value[e] = image[k];
                    e++;
                }
            }
        }

        start[count] = e;
        return new SparseImages(start, pixel, value);
    }
}
