// The driver of benchmarks/e2e/soak.sh: for --seconds it runs at once MX senders (SMTP to local users), submission
// senders (AUTH, mostly to a remote domain the host relays to its smart host), POP3 readers that retrieve and delete,
// IMAP readers that select, fetch, flag, search and expunge, one IDLE reader, and POP3 readers at the remote domain.
// Every message carries an X-Soak-Id; the ledger (Ledger.cs) checks, after a drain of at most --drain seconds and a
// final pass over every mailbox, that each accepted message reached each recipient exactly once, byte for byte.
//
//   Soak --smtp-port P --submission-port P --pop3-port P --imap-port P --remote-pop3-port P
//        --pop3-users A,B --imap-users A,B --idle-user A --remote-users A,B --submit-users A,B [--check-users A,B]
//        --seconds N [--drain N] [--password PW] [--smtp-senders N] [--smtp-rate R] [--submission-senders N]
//        [--submission-rate R] [--pop3-batch N] [--session-timeout N] [--seed N] [--progress-seconds N]
//        [--summary FILE.md] [--keep DIR]
//
// --check-users: mailboxes that must stay empty (the postmaster, the submitting users, who would get any bounce); read
// once at the end. --smtp-rate and --submission-rate are messages per second over all senders of that kind. --summary
// writes the tables of the report; --keep writes there every message whose content was altered, as read.
// Prints a progress line to stderr every --progress-seconds and one line of results to stdout at the end:
// verdict=PASS|FAIL accepted=.. expected=.. exactly_once=.. lost=.. duplicated=.. altered=.. problems=.. errors=..
// Exit status: 0 when the verdict is PASS and no client met an error, 1 otherwise, 2 for bad arguments.

using System.Diagnostics;
using System.Globalization;
using System.Text;

Options options;
try
{
    options = Options.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("usage: Soak --smtp-port P ... --seconds N (see the comment at the top of Program.cs)");
    return 2;
}

var ledger = new Ledger { KeepDirectory = options.Keep };
var stats = new Stats();
var clock = Stopwatch.StartNew();
using var hard = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds + options.Drain + 1800));
using var stopSending = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds));
using var stopReading = new CancellationTokenSource();

var pop3 = options.Pop3Users.Select(u => new Pop3Reader(options, ledger, stats, u, options.Pop3Port, "pop3")).ToList();
var remote = options.RemoteUsers.Select(u => new Pop3Reader(options, ledger, stats, u, options.RemotePop3Port, "remote")).ToList();
var imap = options.ImapUsers.Select(u => new ImapReader(options, ledger, stats, u, idle: false)).ToList();
var idle = options.IdleUser is { } idleUser ? new ImapReader(options, ledger, stats, idleUser, idle: true) : null;

var readers = new List<Task>();
readers.AddRange(pop3.Select(r => Task.Run(() => r.RunAsync(stopReading.Token, hard.Token))));
readers.AddRange(remote.Select(r => Task.Run(() => r.RunAsync(stopReading.Token, hard.Token))));
readers.AddRange(imap.Select(r => Task.Run(() => r.RunAsync(stopReading.Token, hard.Token))));
if (idle is not null)
{
    readers.Add(Task.Run(() => idle.RunAsync(stopReading.Token, hard.Token)));
}
var senders = new List<Task>();
senders.AddRange(Enumerable.Range(0, options.SmtpSenders)
    .Select(i => Task.Run(() => new Sender(options, ledger, stats, submission: false, i).RunAsync(stopSending.Token, hard.Token))));
senders.AddRange(Enumerable.Range(0, options.SubmissionSenders)
    .Select(i => Task.Run(() => new Sender(options, ledger, stats, submission: true, i).RunAsync(stopSending.Token, hard.Token))));
var progress = Task.Run(async () =>
{
    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.ProgressSeconds));
    try
    {
        while (await timer.WaitForNextTickAsync(stopReading.Token))
        {
            Progress(stopSending.IsCancellationRequested ? "draining" : "running");
        }
    }
    catch (OperationCanceledException)
    {
    }
});

await Task.WhenAll(senders);
var sendingSeconds = clock.Elapsed.TotalSeconds;
Progress("sending stopped; draining");

// The drain: the readers go on until every accepted message has reached every recipient, or --drain seconds pass.
var drainClock = Stopwatch.StartNew();
var outstanding = ledger.Outstanding();
while (outstanding > 0 && drainClock.Elapsed.TotalSeconds < options.Drain)
{
    await Task.Delay(1000);
    outstanding = ledger.Outstanding();
}
var drainSeconds = drainClock.Elapsed.TotalSeconds;
await stopReading.CancelAsync();
await progress;
var allReaders = Task.WhenAll(readers);
if (await Task.WhenAny(allReaders, Task.Delay(TimeSpan.FromSeconds(options.SessionTimeoutSeconds + 30))) != allReaders)
{
    stats.Error("shutdown", "readers still busy long after the drain; cut off");
    await hard.CancelAsync();
}
await allReaders;
Progress($"drain over after {drainSeconds:F0} s with {outstanding} deliveries outstanding; final pass over every mailbox");

// The final pass: every mailbox read to the end, once more, so that a late duplicate is seen too.
using var final = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(300, options.SessionTimeoutSeconds * 5)));
foreach (var reader in pop3.Concat(remote))
{
    for (var attempt = 0; attempt < 100; attempt++)
    {
        var n = await reader.SessionAsync(int.MaxValue, final.Token);
        if (n == 0 || (n < 0 && attempt >= 3))
        {
            break;
        }
    }
}
foreach (var reader in imap.Append(idle).OfType<ImapReader>())
{
    for (var attempt = 0; attempt < 3 && !await reader.SessionAsync(final: true, CancellationToken.None, final.Token); attempt++)
    {
    }
}
foreach (var user in options.CheckUsers)
{
    var reader = new Pop3Reader(options, ledger, stats, user, options.Pop3Port, "check");
    if (await reader.SessionAsync(int.MaxValue, final.Token) > 0)
    {
        ledger.Problem($"{user} received mail (none is sent to it; a bounce or a notice?)");
    }
}

var verdict = ledger.Check();
var passed = verdict.Passed && stats.ErrorCount == 0;
if (options.Summary is { } summary)
{
    await File.WriteAllTextAsync(summary, Report());
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"verdict={(verdict.Passed ? "PASS" : "FAIL")} accepted={verdict.ByState.GetValueOrDefault(SendState.Accepted)} " +
    $"expected={verdict.Expected} exactly_once={verdict.ExactlyOnce} lost={verdict.Lost.Count} duplicated={verdict.Duplicated.Count} " +
    $"altered={verdict.AlteredMessages} problems={verdict.ProblemCount} errors={stats.ErrorCount} " +
    $"sending_seconds={sendingSeconds:F0} drain_seconds={drainSeconds:F0}"));
foreach (var line in verdict.Lost.Take(20).Select(l => $"lost: {l}").Concat(verdict.Duplicated.Take(20).Select(d => $"duplicated: {d}"))
    .Concat(verdict.Problems.Take(20)))
{
    Console.Error.WriteLine(line);
}
return passed ? 0 : 1;

void Progress(string what)
{
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"[soak driver] {clock.Elapsed.TotalSeconds,5:F0} s {what}: accepted smtp={stats.Get("smtp.messages")} submission={stats.Get("submission.messages")}; " +
        $"read pop3={stats.Get("pop3.retrieved")} imap={stats.Get("imap.fetched")} idle={stats.Get("idle.fetched")} remote={stats.Get("remote.retrieved")}; " +
        $"outstanding={ledger.Outstanding()} errors={stats.ErrorCount}"));
}

string Report()
{
    static string MiB(long octets) => (octets / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
    string N(string counter) => stats.Get(counter).ToString("N0", CultureInfo.InvariantCulture);
    var text = new StringBuilder();
    var inv = CultureInfo.InvariantCulture;
    text.AppendLine("| Client | What it did |");
    text.AppendLine("|---|---|");
    text.AppendLine(inv, $"| SMTP, MX role ({options.SmtpSenders} senders, {options.SmtpRate} msg/s) | {N("smtp.sessions")} sessions, {N("smtp.messages")} messages accepted for {N("smtp.recipients")} local recipients, {MiB(stats.Get("smtp.octets"))} MiB; {N("smtp.relay_refused")} relay attempts without AUTH refused |");
    text.AppendLine(inv, $"| Submission with AUTH PLAIN ({options.SubmissionSenders} senders, {options.SubmissionRate} msg/s) | {N("submission.sessions")} sessions, {N("submission.messages")} messages accepted for {N("submission.recipients")} recipients (remote, a quarter also local), {MiB(stats.Get("submission.octets"))} MiB |");
    text.AppendLine(inv, $"| POP3, {options.Pop3Users.Count} users | {N("pop3.sessions")} sessions, {N("pop3.retrieved")} messages retrieved ({MiB(stats.Get("pop3.octets"))} MiB), {N("pop3.deleted")} deleted |");
    text.AppendLine(inv, $"| IMAP, {options.ImapUsers.Count} users | {N("imap.sessions")} sessions, {N("imap.searches")} searches, {N("imap.fetched")} messages fetched ({MiB(stats.Get("imap.octets"))} MiB), {N("imap.flagged")} flagged, {N("imap.expunged")} expunged |");
    if (idle is not null)
    {
        var l = idle.Latencies.Order().ToArray();
        string P(double p) => l.Length == 0 ? "n/a" : l[Math.Min(l.Length - 1, (int)Math.Ceiling(p * l.Length) - 1)].ToString("F0", inv);
        text.AppendLine(inv, $"| IMAP IDLE, 1 user | {N("idle.idles")} IDLEs, {N("idle.wakeups")} ended by an EXISTS, {N("idle.timeouts")} by the 30 s timeout; {N("idle.fetched")} messages fetched and expunged; for messages accepted while it idled, from the 250 after DATA to the EXISTS: median {P(0.5)} ms, p99 {P(0.99)} ms, max {(l.Length == 0 ? "n/a" : l[^1].ToString("F0", inv))} ms |");
    }
    text.AppendLine(inv, $"| POP3 at the remote domain, {options.RemoteUsers.Count} users | {N("remote.sessions")} sessions, {N("remote.retrieved")} messages retrieved ({MiB(stats.Get("remote.octets"))} MiB) and deleted |");
    text.AppendLine();
    text.AppendLine("Exactly once:");
    text.AppendLine();
    text.AppendLine(inv, $"- Messages sent: {verdict.ByState.Values.Sum():N0}: {verdict.ByState.GetValueOrDefault(SendState.Accepted):N0} accepted (250 after DATA), " +
        $"{verdict.ByState.GetValueOrDefault(SendState.Refused):N0} refused or cut off before their data ended, {verdict.ByState.GetValueOrDefault(SendState.Uncertain):N0} whose reply was never read " +
        $"({verdict.UncertainDelivered} of their deliveries arrived), {verdict.ByState.GetValueOrDefault(SendState.Pending):N0} never answered.");
    text.AppendLine(inv, $"- Deliveries owed (accepted messages times their recipients): {verdict.Expected:N0}; arrived exactly once and byte-identical: {verdict.ExactlyOnce:N0}; " +
        $"lost: {verdict.Lost.Count}; duplicated: {verdict.Duplicated.Count}; altered messages: {verdict.AlteredMessages}; other problems: {verdict.ProblemCount}.");
    text.AppendLine(inv, $"- Sending lasted {sendingSeconds:F0} s; the drain {(outstanding == 0 ? $"ended with everything delivered after {drainSeconds:F0} s" : $"gave up after {drainSeconds:F0} s with {outstanding} deliveries outstanding")}; then every mailbox was read to the end once more.");
    text.AppendLine(inv, $"- Verdict: **{(verdict.Passed ? "PASS" : "FAIL")}**{(stats.ErrorCount > 0 ? $"; client errors: {stats.ErrorCount} (below)" : "; no client met an error")}.");
    foreach (var (title, list) in new[] { ("Lost", verdict.Lost), ("Duplicated", verdict.Duplicated), ("Problems", verdict.Problems) })
    {
        if (list.Count > 0)
        {
            text.AppendLine();
            text.AppendLine(inv, $"{title} ({list.Count}{(list.Count > 50 ? ", the first 50" : "")}):");
            text.AppendLine();
            foreach (var item in list.Take(50))
            {
                text.AppendLine(inv, $"- {item}");
            }
        }
    }
    text.AppendLine();
    if (stats.ErrorCount == 0)
    {
        text.AppendLine("Client errors: none.");
    }
    else
    {
        text.AppendLine("| Client error | Count | The first (UTC) |");
        text.AppendLine("|---|---:|---|");
        foreach (var (kind, count, first) in stats.Errors)
        {
            text.AppendLine(inv, $"| {kind} | {count} | {string.Join("<br>", first.Select(f => f.Replace("|", "\\|", StringComparison.Ordinal)))} |");
        }
    }
    return text.ToString();
}
