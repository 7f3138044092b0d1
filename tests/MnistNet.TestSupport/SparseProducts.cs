using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.TestSupport;

/// <summary>Whole-matrix products with a sparse X (its sparse and its dense rows) built from the block kernels: allocating conveniences for tests and benchmarks.</summary>
public static class SparseProducts
{
    /// <summary>z = w · x for a dense w (H × rows) and the whole sparse x; allocating test and benchmark convenience.</summary>
    public static void Multiply<T>(Matrix<T> w, SparseColumns<T> x, Matrix<T> z, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hp = SparseKernels.PaddedWidth<T>(w.Rows, path);
        T[] wt = SparseKernels.Transpose(w, hp);
        T[] zt = new T[Math.Max(1, SparseColumns<T>.BlockColumns * hp)];
        T[] denseWeights = new T[x.DenseRows.Length * w.Rows];
        SparseKernels.ScaleDenseRowWeights(w, x.DenseRows, denseWeights);
        for (int c0 = 0, block = 0; c0 < x.Columns; c0 += SparseColumns<T>.BlockColumns, block++)
        {
            int c1 = Math.Min(c0 + SparseColumns<T>.BlockColumns, x.Columns);
            SparseKernels.Forward(x, block, wt, hp, zt, path);
            SparseKernels.FromTransposedBlock<T>(zt, hp, z, c0, c1);
            SparseKernels.DenseRowsForward(x, block, denseWeights, z, c0, c1, path);
        }
    }

    /// <summary>dw = dz · xᵀ for a dense dz (H × columns) and the whole sparse x; allocating test and benchmark convenience.</summary>
    public static void MultiplyByTranspose<T>(Matrix<T> dz, SparseColumns<T> x, Matrix<T> dw, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hp = SparseKernels.PaddedWidth<T>(dz.Rows, path);
        T[] dwt = new T[Math.Max(1, x.Rows * hp)];
        T[] dzt = new T[Math.Max(1, SparseColumns<T>.BlockColumns * hp)];
        T[] lanes = new T[x.DenseRows.Length * dz.Rows * SparseKernels.DenseRowLanes];
        for (int c0 = 0, block = 0; c0 < x.Columns; c0 += SparseColumns<T>.BlockColumns, block++)
        {
            int c1 = Math.Min(c0 + SparseColumns<T>.BlockColumns, x.Columns);
            SparseKernels.ToTransposedBlock(dz, c0, c1, dzt, hp);
            SparseKernels.AccumulateWeightGradient(x, block, dzt, hp, dwt, path);
            SparseKernels.DenseRowsGradient(x, block, dz, c0, c1, lanes, path);
        }

        for (int h = 0; h < dw.Rows; h++)
        {
            for (int k = 0; k < dw.Columns; k++)
            {
                dw[h, k] = dwt[(k * hp) + h];
            }
        }

        T[] sums = new T[x.DenseRows.Length * dz.Rows];
        SparseKernels.SumDenseRowLanes<T>(lanes, sums);
        SparseKernels.StoreDenseRowGradient<T>(sums, x.DenseRows, dw);
    }

}
