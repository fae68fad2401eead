namespace QuantGen.Cli;

/// <summary>What <c>quantgen</c> returns to the shell. Scripts depend on these numbers: never renumber one.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Anything not listed below: the output could not be written, or a bug.</summary>
    public const int Unexpected = 1;

    /// <summary>Unknown command or option, a missing or bad value, --scale missing for uint8 data or given for float32 data.</summary>
    public const int Usage = 2;

    /// <summary>The model, the data file or the calibration file does not exist or cannot be read.</summary>
    public const int FileNotFound = 3;

    /// <summary>The .npy file is not usable: not .npy, damaged or truncated, Fortran order, another dtype, or samples that do not fit the model's input.</summary>
    public const int BadData = 4;

    /// <summary>The model does not load or compile (its QG diagnostics are printed; inspect also when the INT8 build fails), ONNX Runtime cannot run or load it, or it has inputs the command cannot feed.</summary>
    public const int ModelError = 5;

    /// <summary>Reserved: was "a calibration method that is not available yet"; every method is available now.</summary>
    public const int UnsupportedMethod = 6;

    /// <summary>The calibration file is not usable: not a calibration file, or computed for another model (evaluate, export).</summary>
    public const int BadCalibration = 7;

    /// <summary>The table printed by --help and kept in the tool's README.</summary>
    public const string Table =
        """
        Exit codes:
          0  success
          1  unexpected error: the output could not be written, or a bug (please report it)
          2  usage error: unknown command or option, missing or bad value, --scale missing for
             uint8 data or given for float32 data, --data files that do not match the inputs
          3  the model, the data file or the calibration file does not exist or cannot be read
          4  the .npy file is not usable: not .npy, truncated, Fortran order, a dtype other than
             float32 or uint8, samples whose size is not the model input's, fewer than --samples,
             or data files of one model holding different sample counts
          5  the model does not load or compile (its QG diagnostics are printed; inspect prints
             what it could read first, and also fails when the INT8 build does), ONNX Runtime
             cannot run it (calibrate --engine reference may), or has inputs the command cannot
             feed (integer inputs; evaluate: one float input)
          6  reserved (was: unsupported method; every method is available now)
          7  the calibration file is not usable: not a calibration file, or computed for
             another model (evaluate, export; the build falls back to dynamic INT8 with a warning)
        """;
}
