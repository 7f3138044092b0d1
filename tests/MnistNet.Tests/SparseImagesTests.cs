using MnistNet.Data;

namespace MnistNet.Tests;

/// <summary>The per-image index of non-zero pixels that the sparse first layer reads.</summary>
public class SparseImagesTests
{
    [Fact]
    public void Build_ListsEachImagesNonZeroPixels_InOrder_WithTheirValues()
    {
        // Three 2 × 3 images: one with two inks, one empty, one full.
        byte[] pixels = [0, 5, 0, 0, 0, 255, /**/ 0, 0, 0, 0, 0, 0, /**/ 1, 2, 3, 4, 5, 6];
        SparseImages index = new Dataset(pixels, [0, 1, 2], 2, 3).SparseIndex;
        Assert.Equal([0, 2, 2, 8], index.Start);
        Assert.Equal([1, 5, 0, 1, 2, 3, 4, 5], index.Pixel.Select(p => (int)p).ToArray());
        Assert.Equal([5, 255, 1, 2, 3, 4, 5, 6], index.Value);
    }

    [Fact]
    public void Build_WithNoImages_OrImagesTooLargeForSixteenBitIndices_HasOnlyStarts()
    {
        SparseImages none = SparseImages.Build([], 0, 784);
        Assert.Equal([0], none.Start);
        Assert.Empty(none.Pixel);

        SparseImages large = SparseImages.Build(new byte[2 * (SparseImages.MaxPixels + 1)], 2, SparseImages.MaxPixels + 1);
        Assert.Equal(3, large.Start.Length);
        Assert.Empty(large.Value);

        byte[] atLimit = new byte[SparseImages.MaxPixels];
        atLimit[^1] = 9;
        SparseImages last = SparseImages.Build(atLimit, 1, SparseImages.MaxPixels);
        Assert.Equal([ushort.MaxValue], last.Pixel);
        Assert.Equal([9], last.Value);
    }
}
