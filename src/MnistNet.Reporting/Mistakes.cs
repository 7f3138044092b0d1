using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Reporting;

/// <summary>An example the network got wrong.</summary>
/// <param name="Index">Its index in the data.</param>
/// <param name="Label">The true class.</param>
/// <param name="Predicted">The predicted class.</param>
/// <param name="Probability">The probability given to the prediction.</param>
public sealed record Mistake(int Index, int Label, int Predicted, double Probability);

/// <summary>Finds the mistakes a network is most sure of.</summary>
public static class Mistakes
{
    /// <summary>The misclassified examples of <paramref name="data"/>, most confident first (ties: lower index first).</summary>
    /// <param name="network">The network.</param>
    /// <param name="data">Labelled data.</param>
    /// <param name="count">How many to return at most.</param>
    /// <returns>Up to <paramref name="count"/> mistakes.</returns>
    public static IReadOnlyList<Mistake> MostConfident(Network<float> network, Dataset data, int count)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var found = new List<Mistake>();
        const int Chunk = 1000;
        for (int start = 0; start < data.Count; start += Chunk)
        {
            Dataset part = data.Slice(start, Math.Min(Chunk, data.Count - start));
            Matrix<float> x = part.Pixels<float>();
            var workspace = new NetworkWorkspace<float>(network, x.Columns);
            Matrix<float> p = network.ForwardProp(x, workspace);
            for (int j = 0; j < x.Columns; j++)
            {
                int best = 0;
                for (int c = 1; c < p.Rows; c++)
                {
                    best = p[c, j] > p[best, j] ? c : best;
                }

                if (best != part.Labels[j])
                {
                    found.Add(new Mistake(start + j, part.Labels[j], best, p[best, j]));
                }
            }
        }

        return found.OrderByDescending(m => m.Probability).ThenBy(m => m.Index).Take(count).ToList();
    }
}
