using Mail.Protocols.Fuzz;
using SharpFuzz;

// Mail.Protocols.Fuzz --list
// Mail.Protocols.Fuzz <target>                              run under afl-fuzz (fuzz.sh starts it so)
// Mail.Protocols.Fuzz <target> --replay <file-or-dir>...    run inputs in process; exit 1 if any fails
// Mail.Protocols.Fuzz <target> --out-of-process             under afl-fuzz, each input in a child process
const string Usage = "usage: Mail.Protocols.Fuzz --list | <target> [--replay <file-or-dir>... | --out-of-process]";

if (args is ["--list"])
{
    foreach (var each in FuzzTargets.All)
    {
        Console.WriteLine(each.Name);
    }

    return 0;
}

if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var target = FuzzTargets.Find(args[0]);
if (target is null)
{
    Console.Error.WriteLine($"no fuzz target named {args[0]}; --list prints them");
    return 2;
}

if (args.Length >= 2 && args[1] == "--replay")
{
    var files = Replay.Inputs(args.Skip(2));
    var failures = Replay.Run(target, files);
    foreach (var failure in failures)
    {
        Console.Error.WriteLine($"FAIL {failure.File}: {failure.Problem}");
    }

    Console.WriteLine($"{target.Name}: {files.Count} inputs, {failures.Count} failed");
    return failures.Count == 0 ? 0 : 1;
}

// Under afl-fuzz: the input arrives as a stream (afl writes it to the process's standard input). Any exception
// escaping Run, FuzzPropertyException included, is reported to afl as a crash.
const int MaxInput = 1 << 20;
Action<Stream> run = stream =>
{
    var buffer = new byte[MaxInput];
    var length = 0;
    int read;
    while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
    {
        length += read;
    }

    target.Run(buffer.AsSpan(0, length));
};

if (args is [_, "--out-of-process"])
{
    Fuzzer.OutOfProcess.Run(run);
}
else if (args.Length == 1)
{
    Fuzzer.Run(run);
}
else
{
    Console.Error.WriteLine(Usage);
    return 2;
}

return 0;
