using QuantGen.Compiler.Emit;

namespace QuantGen.Compiler.Ops;

/// <summary>
/// One ONNX operator: its shape rule, its float reference implementation and its lowering to C#.
/// Each operator lives in its own file in this folder and is listed in <see cref="OperatorRegistry"/>.
/// </summary>
public abstract class Operator
{
    /// <summary>The ONNX op_type (domain ai.onnx).</summary>
    public abstract string OpType { get; }

    /// <summary>Reads and validates attributes, then sets every output's type and shape.</summary>
    public abstract void InferShapes(ShapeContext ctx);

    /// <summary>
    /// The float reference: computes outputs from inputs with ONNX semantics. Used for constant folding
    /// and by the reference executor that tests compare generated code against.
    /// </summary>
    public abstract void Evaluate(EvalContext ctx);

    /// <summary>Writes the body of the kernel method for this node (see <see cref="KernelContext"/>).</summary>
    public abstract void EmitKernel(KernelContext ctx);

    /// <summary>
    /// True when output 0 is input 0 reinterpreted with a new shape (Reshape, Flatten, Squeeze...): no kernel,
    /// the output shares the input's memory.
    /// </summary>
    public virtual bool IsView => false;

    /// <summary>False for inputs the kernel reads only at build time (shapes, axes, pads): they are not embedded.</summary>
    public virtual bool IsRuntimeInput(int index) => true;

    /// <summary>
    /// Whether the kernel embeds this constant input as weight data. By default every runtime input; an operator whose
    /// kernel writes some constants into the code instead (a scalar operand as a literal, Gather's indices as copies)
    /// says so here, so the float32 weight figure of the generated header (<see cref="Emit.ModelEmitter.ConstantBytes"/>)
    /// counts what a Float32 build really embeds.
    /// </summary>
    public virtual bool EmbedsConstant(OpContext ctx, int index) => IsRuntimeInput(index);

    /// <summary>True when <see cref="EmitKernel"/> applies <see cref="KernelContext.Activation"/> to what it stores.</summary>
    public virtual bool CanFuseActivation => false;

    /// <summary>
    /// Bytes of scratch memory the kernel needs while it runs (0: none). The planner places it in the workspace and the
    /// kernel reads it through <see cref="KernelContext.Scratch"/>.
    /// </summary>
    public virtual int ScratchBytes(OpContext ctx) => 0;

    /// <summary>A short description of the node's parameters for the generated comment (e.g. "k3x3 s1 p1").</summary>
    public virtual string Describe(OpContext ctx) => "";
}
