using Mail.Protocols.Fuzz;
using SharpFuzz;

// Mail.Protocols.Fuzz --list
// Mail.Protocols.Fuzz <target>                              run under afl-fuzz (fuzz.sh starts it so)
// Mail.Protocols.Fuzz <target> --replay <file-or-dir>...    run inputs in process; exit 1 if any fails
const string Usage = "usage: Mail.Protocols.Fuzz --list | <target> [--replay <file-or-dir>...]";

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

if (args.Length != 1)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

// Under afl-fuzz: the input arrives as a stream (afl writes it to standard input). Any exception escaping Run,
// FuzzPropertyException included, is reported to afl as a crash.
//
// Out of process: this process is afl's fork server and runs the inputs in a child dotnet process, which it restarts
// when an input kills it. SharpFuzz's persistent mode (Fuzzer.Run) runs them in this very process, which afl kills
// on a hang (or a stack overflow kills); with afl++ 4.04c the fuzzer then aborts with "Unable to communicate with
// fork server" and, worse, its last statistics do not count the findings. Out of process survives both, at the same
// speed for our targets (about 4,800 executions a second for ImapSequenceSet, either way).
var buffer = new byte[1 << 20];
Fuzzer.OutOfProcess.Run(stream =>
{
    var length = 0;
    int read;
    while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
    {
        length += read;
    }

    target.Run(buffer.AsSpan(0, length));
});
return 0;
