using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;

namespace MnistNet.Training;

/// <summary>Makes an optimiser from its settings; registered under a name with <see cref="Optimizers.Register"/>.</summary>
public interface IOptimizerFactory
{
    /// <summary>Creates the optimiser.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="name">The name it was asked for (one factory may serve several, such as "momentum" and "nesterov").</param>
    /// <param name="learningRate">The base learning rate.</param>
    /// <param name="settings">Hyper-parameters as text, as <see cref="Optimizer{T}.Settings"/> wrote them; missing keys take their defaults.</param>
    /// <returns>A new optimiser with no state.</returns>
    Optimizer<T> Create<T>(string name, double learningRate, IReadOnlyDictionary<string, string> settings)
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// The one registry of optimiser names: the sample's and the tool's <c>--optimizer</c>, and the checkpoint reader, create
/// optimisers here. Built in: sgd, momentum, nesterov, rmsprop, adam, adamw (weight decay 0.01 unless set).
/// </summary>
public static class Optimizers
{
    private static readonly ConcurrentDictionary<string, IOptimizerFactory> s_factories = new(StringComparer.Ordinal)
    {
        ["sgd"] = BuiltIn.Instance,
        ["momentum"] = BuiltIn.Instance,
        ["nesterov"] = BuiltIn.Instance,
        ["rmsprop"] = BuiltIn.Instance,
        ["adam"] = BuiltIn.Instance,
        ["adamw"] = BuiltIn.Instance,
    };

    /// <summary>Gets the registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. s_factories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Registers (or replaces) the factory for <paramref name="name"/>.</summary>
    /// <param name="name">The name, as <see cref="Optimizer{T}.Name"/> returns it.</param>
    /// <param name="factory">The factory.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static void Register(string name, IOptimizerFactory factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        s_factories[name] = factory;
    }

    /// <summary>Creates the optimiser registered as <paramref name="name"/>.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="name">A registered name.</param>
    /// <param name="learningRate">The base learning rate.</param>
    /// <param name="settings">Hyper-parameters as text; null or missing keys take the defaults.</param>
    /// <returns>A new optimiser.</returns>
    /// <exception cref="KeyNotFoundException">No optimiser has that name; the message lists the known ones.</exception>
    /// <exception cref="FormatException">A setting is not a number.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting or the learning rate is out of range.</exception>
    public static Optimizer<T> Create<T>(string name, double learningRate, IReadOnlyDictionary<string, string>? settings = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!s_factories.TryGetValue(name, out IOptimizerFactory? factory))
        {
            throw new KeyNotFoundException($"Unknown optimizer \"{name}\"; known: {string.Join(", ", Names)}.");
        }

        return factory.Create<T>(name, learningRate, settings ?? new Dictionary<string, string>());
    }

    private sealed class BuiltIn : IOptimizerFactory
    {
        public static readonly BuiltIn Instance = new();

        public Optimizer<T> Create<T>(string name, double learningRate, IReadOnlyDictionary<string, string> settings)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            double Get(string key, double fallback)
            {
                if (!settings.TryGetValue(key, out string? text))
                {
                    return fallback;
                }

                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
                    ? value
                    : throw new FormatException($"The optimizer setting {key} = \"{text}\" is not a number.");
            }

            return name switch
            {
                "sgd" => new Sgd<T>(learningRate),
                "momentum" or "nesterov" => new Momentum<T>(learningRate, Get("momentum", 0.9), name == "nesterov"),
                "rmsprop" => new RmsProp<T>(learningRate, Get("rho", 0.9), Get("epsilon", 1e-8)),
                "adam" => new Adam<T>(learningRate, Get("beta1", 0.9), Get("beta2", 0.999), Get("epsilon", 1e-8), Get("weight_decay", 0)),
                "adamw" => new Adam<T>(learningRate, Get("beta1", 0.9), Get("beta2", 0.999), Get("epsilon", 1e-8), Get("weight_decay", 0.01)),
                _ => throw new System.Diagnostics.UnreachableException(),                     // BuiltIn is registered for the names above only
            };
        }
    }
}
