#if MUTATION_RUN
// The mutation tool (Stryker.NET) compiles the mutated assembly itself with Roslyn's default optimisation level
// (Debug), which marks it "JIT optimizer disabled": the SIMD kernels then run 10–30 times slower, training tests take
// seconds instead of milliseconds, and mutants time out instead of being killed. Declaring the attribute here
// (mutation runs only; the symbol comes from MnistNet.csproj when MutationArea is set) stops the compiler from
// synthesising the Debug one, so the JIT optimises the mutated code as it does a Release build. (No line of this
// comment starts with the tool's name: the tool reads such comments as directives.)
[assembly: System.Diagnostics.Debuggable(System.Diagnostics.DebuggableAttribute.DebuggingModes.IgnoreSymbolStoreSequencePoints)]
#endif
