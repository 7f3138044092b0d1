using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>
/// The sparse-input kernels against the dense reference kernels, on every SIMD path, for every column count 0–257
/// and random odd shapes and densities; tolerance (k + 2)·ε·Σ|a·b| as for the dense kernels.
/// </summary>
[Collection(SerialTestGroup.Name)]
public class SparseTests
{
    public static readonly TheoryData<SimdPath> Paths = new() { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 };

    [Theory]
    [MemberData(nameof(Paths))]
    public void SparseProducts_EveryColumnCount0To257_MatchReference(SimdPath path)
    {
        for (int n = 0; n <= 257; n++)
        {
            Check<float>(hidden: 10, rows: 37, columns: n, density: 0.5, path, seed: n);
        }

        // Several blocks, with a partial last one.
        Check<float>(hidden: 10, rows: 50, columns: 3 * SparseColumns<float>.BlockColumns + 5, density: 0.5, path, seed: 1);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SparseProducts_HiddenSizesAcrossVectorWidths_MatchReference(SimdPath path)
    {
        foreach (int hidden in new[] { 1, 7, 8, 9, 15, 16, 17, 33 })
        {
            Check<float>(hidden, rows: 29, columns: 300, density: 0.6, path, seed: hidden);
            Check<double>(hidden, rows: 29, columns: 70, density: 0.6, path, seed: hidden);
        }
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 100)]
    public void SparseProducts_RandomShapesAndDensities_MatchReference(Case c)
    {
        foreach (SimdPath path in new[] { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 })
        {
            Check<float>(c.Hidden, c.Rows, c.Columns, c.Density, path, c.Seed);
            Check<double>(c.Hidden, c.Rows, c.Columns, c.Density, path, c.Seed);
        }
    }

    [Theory]
    [InlineData(30, 600, 0.25)]
    [InlineData(784, 513, 0.19)]
    [InlineData(5, 256, 0.0)]
    [InlineData(7, 1, 1.0)]
    public void FromDense_BothLayouts_HoldEachNonZeroOnce_InOrder(int rows, int columns, double density)
    {
        // No dense rows (threshold above 1): every non-zero in both sparse layouts.
        Matrix<float> x = SparseMatrix<float>(rows, columns, density, seed: 11);
        var s = SparseColumns<float>.Build(x, denseRowMinDensity: 2);
        Assert.Empty(s.DenseRows);
        int blockWidth = SparseColumns<float>.BlockColumns;
        int blocks = (columns + blockWidth - 1) / blockWidth;

        // By row, block by block: a group per row that has a non-zero in the block, its columns increasing; the block's
        // groups ordered by their number of entries, then by row.
        var groupRows = new List<ushort>();
        var entries = new List<(byte Column, float Value)>();
        var groupStart = new List<int>();
        var blockGroupStart = new List<int>();
        for (int b = 0; b < blocks; b++)
        {
            blockGroupStart.Add(groupRows.Count);
            var groups = new List<(ushort Row, List<(byte Column, float Value)> Entries)>();
            for (int r = 0; r < rows; r++)
            {
                var group = new List<(byte Column, float Value)>();
                for (int j = b * blockWidth; j < Math.Min(columns, (b + 1) * blockWidth); j++)
                {
                    if (x[r, j] != 0)
                    {
                        group.Add(((byte)(j - (b * blockWidth)), x[r, j]));
                    }
                }

                if (group.Count > 0)
                {
                    groups.Add(((ushort)r, group));
                }
            }

            foreach (var (row, group) in groups.OrderBy(g => g.Entries.Count).ThenBy(g => g.Row))
            {
                groupRows.Add(row);
                groupStart.Add(entries.Count);
                entries.AddRange(group);
            }
        }

        blockGroupStart.Add(groupRows.Count);
        groupStart.Add(entries.Count);
        Assert.Equal(blockGroupStart, s.BlockGroupStart);
        Assert.Equal(groupRows, s.GroupRow);
        Assert.Equal(groupStart, s.GroupStart);
        Assert.Equal(entries.Select(e => e.Column), s.EntryColumn);
        Assert.Equal(entries.Select(e => e.Value), s.EntryValue);

        // By column: each column's non-zeros, rows increasing; within a block the columns in order of their number of
        // non-zeros, then column, each slot naming its column.
        var columnStart = new List<int>();
        var columnPosition = new List<byte>();
        var rowIndex = new List<ushort>();
        var values = new List<float>();
        for (int b = 0; b < blocks; b++)
        {
            int j0 = b * blockWidth;
            int[] order = [.. Enumerable.Range(j0, Math.Min(columns, j0 + blockWidth) - j0).OrderBy(j => Enumerable.Range(0, rows).Count(r => x[r, j] != 0)).ThenBy(j => j)];
            foreach (int j in order)
            {
                columnStart.Add(rowIndex.Count);
                columnPosition.Add((byte)(j - j0));
                for (int r = 0; r < rows; r++)
                {
                    if (x[r, j] != 0)
                    {
                        rowIndex.Add((ushort)r);
                        values.Add(x[r, j]);
                    }
                }
            }
        }

        columnStart.Add(rowIndex.Count);
        Assert.Equal(columnStart, s.ColumnStart);
        Assert.Equal(columnPosition, s.ColumnPosition);
        Assert.Equal(rowIndex, s.RowIndex);
        Assert.Equal(values, s.Values);
    }

    /// <summary>
    /// The one-vector-per-row kernels (hidden ≤ 16 on the Vector512 path: the seed's network) in their documented order:
    /// forward, eight accumulators taking a column's entries in turn and its last (count mod 8) entries into the first;
    /// weight gradient, four accumulators in turn and the last (count mod 4) into the first; each lane with one rounding
    /// per multiply-add. Every value, bit for bit — the order is what keeps a step's bits from one version to the next.
    /// </summary>
    [Fact]
    public void OneVectorRowKernels_SumInTheirDocumentedOrder_BitForBit() => TestData.OnPath(SimdPath.Vector512, () =>
    {
        const int Hp = 16;
        var rng = new Random(17);
        Matrix<float> x = SparseMatrix<float>(rows: 60, columns: 400, density: 0.3, seed: 23);
        var s = SparseColumns<float>.Build(x, denseRowMinDensity: 2);
        Assert.Equal(Hp, SparseKernels.PaddedWidth<float>(10, SimdPath.Vector512));
        float[] table = [.. Enumerable.Range(0, 256 * Hp).Select(_ => (float)(rng.NextDouble() - 0.5))];
        int blocks = (x.Columns + SparseColumns<float>.BlockColumns - 1) / SparseColumns<float>.BlockColumns;
        for (int block = 0; block < blocks; block++)
        {
            int j0 = block * SparseColumns<float>.BlockColumns;
            int j1 = Math.Min(j0 + SparseColumns<float>.BlockColumns, x.Columns);
            float[] zt = new float[SparseColumns<float>.BlockColumns * Hp];
            SparseKernels.Forward(s, block, table, Hp, zt, SimdPath.Vector512);
            for (int slot = j0; slot < j1; slot++)
            {
                int j = j0 + s.ColumnPosition[slot];
                int first = s.ColumnStart[slot], count = s.ColumnStart[slot + 1] - first;
                for (int h = 0; h < Hp; h++)
                {
                    float[] a = new float[8];
                    for (int i = 0; i < count; i++)
                    {
                        int k = i < count / 8 * 8 ? i % 8 : 0;
                        a[k] = MathF.FusedMultiplyAdd(s.Values[first + i], table[(s.RowIndex[first + i] * Hp) + h], a[k]);
                    }

                    float expected = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(zt[((j - j0) * Hp) + h]), $"forward: column {j}, lane {h}");
                }
            }

            float[] start = [.. Enumerable.Range(0, x.Rows * Hp).Select(_ => (float)rng.NextDouble())];
            float[] dwt = [.. start];
            SparseKernels.AccumulateWeightGradient(s, block, table, Hp, dwt, SimdPath.Vector512);
            for (int g = s.BlockGroupStart[block]; g < s.BlockGroupStart[block + 1]; g++)
            {
                int first = s.GroupStart[g], count = s.GroupStart[g + 1] - first;
                for (int h = 0; h < Hp; h++)
                {
                    float[] a = new float[4];
                    for (int i = 0; i < count; i++)
                    {
                        int k = i < count / 4 * 4 ? i % 4 : 0;
                        a[k] = MathF.FusedMultiplyAdd(s.EntryValue[first + i], table[(s.EntryColumn[first + i] * Hp) + h], a[k]);
                    }

                    int at = (s.GroupRow[g] * Hp) + h;
                    float expected = start[at] + ((a[0] + a[1]) + (a[2] + a[3]));
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(dwt[at]), $"gradient: row {s.GroupRow[g]}, lane {h}");
                }
            }
        }
    });

    [Fact]
    public void FromDense_KeepsExactlyTheNonZeros()
    {
        Matrix<float> x = SparseMatrix<float>(rows: 30, columns: 600, density: 0.25, seed: 3);
        var s = SparseColumns<float>.FromDense(x);
        long nonZero = 0;
        for (int r = 0; r < x.Rows; r++)
        {
            nonZero += x.Row(r).ToArray().Count(v => v != 0);
        }

        Assert.Equal(nonZero, s.NonZeroCount);
        Assert.Equal((double)nonZero / (30 * 600), s.Density, 12);
        Assert.Equal(30, s.Rows);
        Assert.Equal(600, s.Columns);
        Assert.Throws<ArgumentException>(() => SparseColumns<float>.FromDense(new Matrix<float>(70000, 1)));
        Assert.Throws<ArgumentNullException>("dense", () => SparseColumns<float>.FromDense(null!));
    }

    [Fact]
    public void SparseTrainStep_MatchesDenseWithinTolerance_AndSameBitsOnOneOrTwoThreads()
    {
        // MNIST-like: a quarter of the rows 60 % non-zero (kept densely as bytes), the rest 12 %; 5 000 examples (20 blocks, 3 chunks).
        Matrix<float> x = ImageLike<float>(rows: 784, columns: 5000, denseRowDensity: 0.6, seed: 5);
        ushort[] y = TestData.Labels(5000, 10, 5);
        var sparse = SparseColumns<float>.FromDense(x);
        Assert.Equal(196, sparse.DenseRows.Length);
        var dense = new TwoLayerNetwork<float>(seed: 2);
        var viaSparse = new TwoLayerNetwork<float>(seed: 2);
        var denseWorkspace = new TrainingWorkspace<float>(dense, 5000);
        var sparseWorkspace = new TrainingWorkspace<float>(viaSparse, 5000);
        for (int i = 0; i < 10; i++)
        {
            double a = dense.TrainStep(x, y, 0.1f, denseWorkspace);
            double b = viaSparse.TrainStep(sparse, y, 0.1f, sparseWorkspace);
            Assert.Equal(a, b, 1e-5);
        }

        // Same bound as the fused-vs-readable comparison after a few steps (measured here: ~1e-7).
        Assert.True(MaxDifference(dense.W1, viaSparse.W1) <= 1e-5, $"W1 differs by {MaxDifference(dense.W1, viaSparse.W1):E2}");
        Assert.True(MaxDifference(dense.B2, viaSparse.B2) <= 1e-5);

        var one = new TwoLayerNetwork<float>(seed: 2);
        var two = new TwoLayerNetwork<float>(seed: 2);
        var workspaceOne = new TrainingWorkspace<float>(one, 5000);
        var workspaceTwo = new TrainingWorkspace<float>(two, 5000);
        Threads.Run(1, () =>
        {
            for (int i = 0; i < 5; i++)
            {
                one.TrainStep(sparse, y, 0.1f, workspaceOne);
            }
        });
        Threads.Run(2, () =>
        {
            for (int i = 0; i < 5; i++)
            {
                two.TrainStep(sparse, y, 0.1f, workspaceTwo);
            }
        });

        Assert.True(TestData.SameBits(one.W1, two.W1) && TestData.SameBits(one.B1, two.B1));
        Assert.True(TestData.SameBits(one.W2, two.W2) && TestData.SameBits(one.B2, two.B2));
    }

    [Fact]
    public void SparseTrainStep_WrongShapes_Throw()
    {
        var net = new TwoLayerNetwork<float>(inputs: 20, hidden: 4);
        var sparse = SparseColumns<float>.FromDense(SparseMatrix<float>(rows: 21, columns: 8, density: 0.5, seed: 1));
        Assert.Throws<ArgumentException>(() => net.TrainStep(sparse, new ushort[8], 0.1f, new TrainingWorkspace<float>(net, 8)));
        var ok = SparseColumns<float>.FromDense(SparseMatrix<float>(rows: 20, columns: 8, density: 0.5, seed: 1));
        Assert.Throws<ArgumentException>(() => net.TrainStep(ok, new ushort[8], 0.1f, new TrainingWorkspace<float>(net, 9)));
        Assert.Throws<ArgumentException>(() => net.TrainStep(ok, new ushort[7], 0.1f, new TrainingWorkspace<float>(net, 8)));
    }

    [Fact]
    public void GradientDescent_DenseData_SameResultAsDenseSteps_SparseData_MatchesWithinTolerance()
    {
        ushort[] y = TestData.Labels(600, 10, 9);

        // Fashion-MNIST-like density (50 %): the dense path is chosen, so the bits equal explicit dense steps.
        Matrix<float> denseX = SparseMatrix<float>(rows: 784, columns: 600, density: 0.5, seed: 8);
        var auto = new TwoLayerNetwork<float>(seed: 4);
        auto.GradientDescent(denseX, y, 0.1f, 5, cancellationToken: TestContext.Current.CancellationToken);
        var manual = new TwoLayerNetwork<float>(seed: 4);
        var workspace = new TrainingWorkspace<float>(manual, 600);
        for (int i = 0; i < 5; i++)
        {
            manual.TrainStep(denseX, y, 0.1f, workspace);
        }

        Assert.True(TestData.SameBits(auto.W1, manual.W1));

        // MNIST-like density: the sparse path is chosen, equal to explicit sparse steps.
        Matrix<float> sparseX = SparseMatrix<float>(rows: 784, columns: 600, density: 0.15, seed: 8);
        var autoSparse = new TwoLayerNetwork<float>(seed: 4);
        autoSparse.GradientDescent(sparseX, y, 0.1f, 5, cancellationToken: TestContext.Current.CancellationToken);
        var manualSparse = new TwoLayerNetwork<float>(seed: 4);
        var s = SparseColumns<float>.FromDense(sparseX);
        for (int i = 0; i < 5; i++)
        {
            manualSparse.TrainStep(s, y, 0.1f, workspace);
        }

        Assert.True(TestData.SameBits(autoSparse.W1, manualSparse.W1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(200)]
    [InlineData(600)]
    public void FromDense_DenseRows_HeldAsBytes_InTheirTiles_OtherRowsInTheSparseLayouts(int columns)
    {
        Matrix<float> x = ImageLike<float>(rows: 40, columns, denseRowDensity: 0.6, seed: columns);
        if (columns == 200)
        {
            // At the threshold exactly (0.35 · 200 = 70 non-zeros) a row is dense; one fewer, sparse.
            x.Row(1).Clear();
            x.Row(2).Clear();
            for (int j = 0; j < 70; j++)
            {
                x[1, 3 * j % 200] = 7 / 255f;
            }

            for (int j = 0; j < 69; j++)
            {
                x[2, 3 * j % 200] = 7 / 255f;
            }
        }

        var s = SparseColumns<float>.FromDense(x);
        int[] counts = [.. Enumerable.Range(0, x.Rows).Select(r => x.Row(r).ToArray().Count(v => v != 0))];
        int[] dense = [.. Enumerable.Range(0, x.Rows).Where(r => counts[r] > 0 && counts[r] >= 0.35 * columns)];
        Assert.Equal(dense, s.DenseRows);
        Assert.NotEmpty(dense);
        Assert.Equal(columns == 200, dense.Contains(1));
        Assert.DoesNotContain(2, dense);
        Assert.Equal(counts.Sum(), s.NonZeroCount);

        // Each dense row's byte for each column at its documented place; columns past the last hold 0.
        int width = SparseColumns<float>.BlockColumns;
        int blocks = (columns + width - 1) / width;
        Assert.True(s.Panel.Length >= blocks * width * dense.Length);
        for (int b = 0; b < blocks; b++)
        {
            for (int q = 0; q < dense.Length; q++)
            {
                for (int c = 0; c < width; c++)
                {
                    int j = (b * width) + c;
                    byte expected = j < columns ? (byte)Math.Round(x[dense[q], j] * 255) : (byte)0;
                    Assert.Equal(expected, s.Panel[(b * width * dense.Length) + SparseColumns<float>.PanelOffset(dense.Length, q, c)]);
                }
            }
        }

        // The sparse layouts hold exactly the other rows' non-zeros (by column: slot by slot, each naming its column).
        for (int slot = 0; slot < columns; slot++)
        {
            int j = (slot / width * width) + s.ColumnPosition[slot];
            ushort[] expected = [.. Enumerable.Range(0, x.Rows).Where(r => x[r, j] != 0 && !dense.Contains(r)).Select(r => (ushort)r)];
            Assert.Equal(expected, s.RowIndex[s.ColumnStart[slot]..s.ColumnStart[slot + 1]]);
        }

        Assert.Equal(s.ColumnStart[columns], s.RowIndex.Length);
        Assert.Equal(s.RowIndex.Length, s.EntryValue.Length);
        Assert.DoesNotContain(s.GroupRow, r => dense.Contains(r));
    }

    [Theory]
    [InlineData(0.5f, true)]
    [InlineData(float.NaN, true)]
    [InlineData(0.5f, false)]
    public void FromDense_AValueNotAWhole255th_InADenseRow_KeepsEveryRowSparse(float value, bool inDenseRow)
    {
        Matrix<float> x = ImageLike<float>(rows: 24, columns: 300, denseRowDensity: 0.6, seed: 4);
        Assert.NotEmpty(SparseColumns<float>.FromDense(x).DenseRows);
        x[inDenseRow ? 8 : 9, 299] = value;
        var s = SparseColumns<float>.FromDense(x);
        long nonZero = Enumerable.Range(0, x.Rows).Sum(r => (long)x.Row(r).ToArray().Count(v => v != 0));
        Assert.Equal(nonZero, s.NonZeroCount);
        if (inDenseRow)
        {
            Assert.Empty(s.DenseRows);
            Assert.Empty(s.Panel);
            Assert.Equal(nonZero, s.Values.Length);
        }
        else
        {
            Assert.Equal([0, 4, 8, 12, 16, 20], s.DenseRows);
        }
    }

    [Fact]
    public void WholeTwoHundredFiftyFifths_AreRecognised_OthersAreNot()
    {
        for (int k = 0; k <= 255; k++)
        {
            Assert.True(SparseColumns<float>.TryGetByte(k / 255f, out byte b) && b == k, $"float {k}");
            Assert.True(SparseColumns<double>.TryGetByte(k / 255.0, out b) && b == k, $"double {k}");
            Assert.False(SparseColumns<float>.TryGetByte(BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(k / 255f) + 1), out _), $"float {k} + 1 ulp");
        }

        foreach (float v in new[] { -1 / 255f, 256 / 255f, 0.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            Assert.False(SparseColumns<float>.TryGetByte(v, out _), $"{v}");
        }
    }

    /// <summary>
    /// The dense-row kernels in their documented order, bit for bit on every path: forward, per element one multiply-add
    /// chain over the dense rows from the value already there; gradient, per lane j mod 16 one chain over its columns in
    /// increasing order from the lane's value. Every column count 0–257 and more blocks, hidden sizes across the tiles of
    /// five rows, odd and even numbers of dense rows; float and double.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void DenseRowKernels_SumInTheirDocumentedOrder_BitForBit(SimdPath path)
    {
        foreach (int columns in Enumerable.Range(0, 258).Concat([513, 700]))
        {
            int hidden = new[] { 1, 4, 5, 6, 10, 11, 16, 17 }[columns % 8];
            int rows = 1 + (columns % 7);
            DenseRowKernelsCheck<float>(rows, columns, hidden, path, seed: columns);
            if (columns % 5 == 0)
            {
                DenseRowKernelsCheck<double>(rows, columns, hidden, path, seed: columns);
            }
        }
    }

    private static void DenseRowKernelsCheck<T>(int rows, int columns, int hidden, SimdPath path, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Matrix<T> x = ImageLike<T>(rows, columns, denseRowDensity: 0.7, seed);
        var s = SparseColumns<T>.Build(x, 0);
        int count = s.DenseRows.Length;
        var random = new Random((int)seed);
        T[] w = [.. Enumerable.Range(0, Math.Max(1, count * hidden)).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5))];
        Matrix<T> z = TestData.Random<T>(hidden, columns, seed + 1);
        Matrix<T> dz = TestData.Random<T>(hidden, columns, seed + 2);
        Matrix<T> z0 = new(hidden, columns);
        z.CopyTo(z0);
        T[] lanes = [.. Enumerable.Range(0, Math.Max(1, count * hidden * 16)).Select(_ => T.CreateTruncating(random.NextDouble()))];
        T[] lanes0 = [.. lanes];

        // Lanes the first block overwrites (accumulate: false) rather than adds to: their NaNs must not survive.
        T[] fresh = [.. Enumerable.Repeat(T.NaN, lanes.Length)];
        int width = SparseColumns<T>.BlockColumns;
        for (int c0 = 0, block = 0; c0 < columns; c0 += width, block++)
        {
            int c1 = Math.Min(c0 + width, columns);
            SparseKernels.DenseRowsForward(s, block, w, z, c0, c1, path);
            SparseKernels.DenseRowsGradient(s, block, dz, c0, c1, lanes, path);
            SparseKernels.DenseRowsGradient(s, block, dz, c0, c1, fresh, path, accumulate: block > 0);
        }

        if (count > 0 && columns % 16 == 1)
        {
            // An empty block (the one after the last) has sums of 0: overwriting with them clears the lanes.
            int after = (columns + width - 1) / width;
            T[] cleared = [.. Enumerable.Repeat(T.NaN, lanes.Length)];
            SparseKernels.DenseRowsGradient(s, after, dz, after * width, columns, cleared, path, accumulate: false);
            Assert.All(cleared[..(count * hidden * 16)], v => Assert.True(v == T.Zero, $"empty block, {path}: lane {v}"));
        }

        for (int h = 0; h < hidden; h++)
        {
            for (int j = 0; j < columns; j++)
            {
                T expected = z0[h, j];
                for (int q = 0; q < count; q++)
                {
                    expected = T.FusedMultiplyAdd(w[(q * hidden) + h], T.CreateTruncating(Math.Round(double.CreateTruncating(x[s.DenseRows[q], j]) * 255)), expected);
                }

                Assert.True(TestData.SameBits(expected, z[h, j]), $"forward {typeof(T).Name} {path}: h {h}, column {j} of {columns}, {count} dense rows");
            }
        }

        for (int q = 0; q < count; q++)
        {
            for (int h = 0; h < hidden; h++)
            {
                for (int l = 0; l < 16; l++)
                {
                    T expected = lanes0[(((q * hidden) + h) * 16) + l];
                    T overwritten = T.Zero;
                    for (int j = l; j < columns; j += 16)
                    {
                        T k = T.CreateTruncating(Math.Round(double.CreateTruncating(x[s.DenseRows[q], j]) * 255));
                        expected = T.FusedMultiplyAdd(dz[h, j], k, expected);
                        overwritten = T.FusedMultiplyAdd(dz[h, j], k, overwritten);
                    }

                    Assert.True(TestData.SameBits(expected, lanes[(((q * hidden) + h) * 16) + l]), $"gradient {typeof(T).Name} {path}: q {q}, h {h}, lane {l}, {columns} columns");
                    if (columns > 0)
                    {
                        Assert.True(TestData.SameBits(overwritten, fresh[(((q * hidden) + h) * 16) + l]), $"gradient from 0 {typeof(T).Name} {path}: q {q}, h {h}, lane {l}, {columns} columns");
                    }
                }
            }
        }
    }

    [Fact]
    public void DenseRowLaneSums_AddByHalves_InTheDocumentedOrder_BitForBit()
    {
        var random = new Random(5);
        float[] lanes = [.. Enumerable.Range(0, 16 * 40).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 4))))];
        float[] sums = new float[40];
        SparseKernels.SumDenseRowLanes<float>(lanes, sums);
        for (int i = 0; i < sums.Length; i++)
        {
            float[] v = lanes[(i * 16)..((i + 1) * 16)];
            for (int half = 8; half >= 1; half /= 2)
            {
                for (int k = 0; k < half; k++)
                {
                    v[k] += v[k + half];
                }
            }

            Assert.True(TestData.SameBits(v[0], sums[i]), $"pair {i}: {sums[i]} vs {v[0]}");
        }

        var dw = new Matrix<float>(2, 5);
        SparseKernels.StoreDenseRowGradient<float>([255f, 510f, -25.5f, 1f], [1, 3], dw);
        Assert.Equal(new float[] { 0, 1, 0, -25.5f / 255, 0 }, dw.Row(0).ToArray());
        Assert.Equal(new float[] { 0, 2, 0, 1 / 255f, 0 }, dw.Row(1).ToArray());
    }

    [Fact]
    public void DenseRowKernels_ShortBuffersOrABlockRangeOutsideTheBlock_Throw()
    {
        Matrix<float> x = ImageLike<float>(rows: 8, columns: 300, denseRowDensity: 0.7, seed: 2);
        var s = SparseColumns<float>.Build(x, 0);
        var z = new Matrix<float>(3, 300);
        int count = s.DenseRows.Length;
        Assert.Equal("w", Assert.Throws<ArgumentException>(() => SparseKernels.DenseRowsForward<float>(s, 0, new float[(count * 3) - 1], z, 0, 256, SimdPath.Scalar)).ParamName);
        Assert.Equal("lanes", Assert.Throws<ArgumentException>(() => SparseKernels.DenseRowsGradient<float>(s, 0, z, 0, 256, new float[(count * 3 * 16) - 1], SimdPath.Scalar)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseKernels.DenseRowsForward<float>(s, 1, new float[count * 3], z, 0, 256, SimdPath.Scalar));
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseKernels.DenseRowsForward<float>(s, 1, new float[count * 3], z, 256, 301, SimdPath.Scalar));
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseKernels.DenseRowsGradient<float>(s, 0, z, 1, 256, new float[count * 3 * 16], SimdPath.Scalar));
    }

    internal static Matrix<T> SparseMatrix<T>(int rows, int columns, double density, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var random = new Prng(seed);
        var x = new Matrix<T>(rows, columns);
        for (int r = 0; r < rows; r++)
        {
            Span<T> row = x.Row(r);
            for (int j = 0; j < columns; j++)
            {
                if (random.NextDouble() < density)
                {
                    row[j] = T.CreateTruncating((1 + random.NextInt32(255)) / 255.0);
                }
            }
        }

        return x;
    }

    /// <summary>
    /// Pixels scaled from bytes: each non-zero exactly k/255 in <typeparamref name="T"/> (k in 1–255), every fourth row
    /// (from row 0) non-zero with probability <paramref name="denseRowDensity"/>, the others with a fifth of it; MNIST's
    /// mix of dense central and sparse edge pixels.
    /// </summary>
    internal static Matrix<T> ImageLike<T>(int rows, int columns, double denseRowDensity, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var random = new Prng(seed);
        var x = new Matrix<T>(rows, columns);
        for (int r = 0; r < rows; r++)
        {
            double density = r % 4 == 0 ? denseRowDensity : denseRowDensity / 5;
            Span<T> row = x.Row(r);
            for (int j = 0; j < columns; j++)
            {
                if (random.NextDouble() < density)
                {
                    row[j] = T.CreateTruncating(1 + random.NextInt32(255)) / T.CreateTruncating(255);
                }
            }
        }

        return x;
    }

    private static double MaxDifference(Matrix<float> a, Matrix<float> b)
    {
        double worst = 0;
        for (int r = 0; r < a.Rows; r++)
        {
            for (int c = 0; c < a.Columns; c++)
            {
                worst = Math.Max(worst, Math.Abs(a[r, c] - b[r, c]));
            }
        }

        return worst;
    }

    private static void Check<T>(int hidden, int rows, int columns, double density, SimdPath path, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        // Byte-valued (k/255) entries, so rows can be dense: the default threshold, every row dense, none dense.
        Matrix<T> x = ImageLike<T>(rows, columns, density, seed);
        foreach (SparseColumns<T> s in new[] { SparseColumns<T>.FromDense(x), SparseColumns<T>.Build(x, 0), SparseColumns<T>.Build(x, 2) })
        {
            CheckProducts(x, s, hidden, path, seed);
        }
    }

    private static void CheckProducts<T>(Matrix<T> x, SparseColumns<T> s, int hidden, SimdPath path, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int rows = x.Rows;
        int columns = x.Columns;
        Matrix<T> w = TestData.Random<T>(hidden, rows, seed + 1);
        Matrix<T> dz = TestData.Random<T>(hidden, columns, seed + 2);
        double eps = TestData.Epsilon<T>();

        // Forward: W·X, inner length = rows.
        var expected = new Matrix<T>(hidden, columns);
        var bound = new Matrix<T>(hidden, columns);
        var actual = new Matrix<T>(hidden, columns);
        ReferenceKernels.Multiply(w, x, expected);
        ReferenceKernels.Multiply(TestData.Abs(w), x, bound);
        SparseProducts.Multiply(w, s, actual, path);
        string layout = $"{s.DenseRows.Length} dense rows";
        TestData.AssertWithinBound(expected, actual, bound, (rows + 2) * eps, $"W·X {typeof(T).Name} {path} h={hidden} {rows}×{columns}, {layout}");

        // Weight gradient: dZ·Xᵀ, inner length = columns.
        var expectedGrad = new Matrix<T>(hidden, rows);
        var boundGrad = new Matrix<T>(hidden, rows);
        var actualGrad = new Matrix<T>(hidden, rows);
        ReferenceKernels.MultiplyByTranspose(dz, x, expectedGrad);
        ReferenceKernels.MultiplyByTranspose(TestData.Abs(dz), x, boundGrad);
        SparseProducts.MultiplyByTranspose(dz, s, actualGrad, path);
        TestData.AssertWithinBound(expectedGrad, actualGrad, boundGrad, (columns + 2) * eps, $"dZ·Xᵀ {typeof(T).Name} {path} h={hidden} {rows}×{columns}, {layout}");
    }

    public sealed record Case(int Hidden, int Rows, int Columns, double Density, long Seed);

    public static class Generators
    {
        public static Arbitrary<Case> Cases() =>
            (from hidden in Gen.Choose(1, 20)
             from rows in Gen.Choose(1, 60)
             from columns in Gen.Choose(0, 600)
             from density in Gen.Elements(0.0, 0.05, 0.2, 0.5, 1.0)
             from seed in Gen.Choose(0, 1_000_000)
             select new Case(hidden, rows, columns, density, seed)).ToArbitrary();
    }
}
