using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Tests;

/// <summary>The session loop SMTP, POP3 and IMAP share, driven with a toy protocol over in-memory pipes.</summary>
public sealed class CommandSessionTests
{
    // The server a toy session belongs to: it never listens.
    private sealed class ToyServer() : ProtocolServer("toy", [], new ConnectionLimits(), null, TimeSpan.Zero, "busy\r\n"u8.ToArray(), null, null)
    {
        protected override Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint) => Task.CompletedTask;
    }

    // OK succeeds, BAD is the client's error, FAIL is a backend that throws, QUIT ends the session.
    private sealed class ToySession(MailConnection connection, int maxErrors) : CommandSession(new ToyServer(), connection, maxErrors, TimeSpan.FromMinutes(1))
    {
        public List<string> Events { get; } = [];

        protected override ValueTask<LineReadOutcome> ReadCommandAsync() => IO.ReadLineAsync(16, TimeSpan.FromMinutes(1));

        protected override ValueTask<bool> ExecuteAsync()
        {
            switch (Encoding.ASCII.GetString(IO.Line))
            {
                case "OK":
                    IO.Write("ok\r\n"u8);
                    Success();
                    return ValueTask.FromResult(true);
                case "FAIL":
                    throw new InvalidDataException("backend broke");
                case "QUIT":
                    IO.Write("bye\r\n"u8);
                    return ValueTask.FromResult(false);
                default:
                    CountError();
                    IO.Write("err\r\n"u8);
                    return ValueTask.FromResult(true);
            }
        }

        protected override void WriteGreeting() => IO.Write("hello\r\n"u8);
        protected override void WriteShuttingDown() => IO.Write("shutting down\r\n"u8);
        protected override void OnLineTooLong()
        {
            CountError();
            IO.Write("too long\r\n"u8);
        }
        protected override void OnTimedOut() => Events.Add("timeout");
        protected override bool OnCommandFailed(Exception exception)
        {
            Events.Add("failed: " + exception.Message);
            IO.Write("backend error\r\n"u8);
            return true;
        }
        protected override void OnErrorBudgetSpent() => IO.Write("too many errors\r\n"u8);
        protected override void OnClosedByClient() => Events.Add("closed");
        protected override void OnConnectionLost(Exception exception) => Events.Add("lost");
        protected override void OnStarted() => Events.Add("started");
        protected override void OnEnded(TimeSpan duration) => Events.Add("ended");
    }

    private static async Task<(string Output, List<string> Events)> RunAsync(string input, int maxErrors = 3, bool shutdown = false)
    {
        var fromClient = new Pipe();
        var toClient = new Pipe();
        await using var connection = new MailConnection(new TestDuplexPipe(fromClient.Reader, toClient.Writer));
        if (shutdown)
        {
            connection.RequestShutdown();
        }
        await fromClient.Writer.WriteAsync(Encoding.ASCII.GetBytes(input));
        await fromClient.Writer.CompleteAsync();
        var session = new ToySession(connection, maxErrors);
        await session.RunAsync();
        await toClient.Writer.CompleteAsync();
        var read = await toClient.Reader.ReadAtLeastAsync(int.MaxValue);
        return (Encoding.ASCII.GetString(read.Buffer), session.Events);
    }

    [Fact]
    public async Task Greets_answers_each_command_and_ends_when_the_session_says_so()
    {
        var (output, events) = await RunAsync("OK\r\nOK\r\nQUIT\r\nOK\r\n");
        Assert.Equal("hello\r\nok\r\nok\r\nbye\r\n", output);
        Assert.Equal(["started", "ended"], events);
    }

    [Fact]
    public async Task The_error_that_spends_the_budget_is_answered_then_the_closing_line_ends_the_session()
    {
        var (output, _) = await RunAsync("BAD\r\nBAD\r\nBAD\r\nOK\r\n");
        Assert.Equal("hello\r\nerr\r\nerr\r\nerr\r\ntoo many errors\r\n", output);
    }

    [Fact]
    public async Task A_success_starts_the_error_budget_over()
    {
        var (output, _) = await RunAsync("BAD\r\nBAD\r\nOK\r\nBAD\r\nBAD\r\nQUIT\r\n");
        Assert.Equal("hello\r\nerr\r\nerr\r\nok\r\nerr\r\nerr\r\nbye\r\n", output);
    }

    [Fact]
    public async Task A_line_over_the_limit_is_answered_and_counts_as_an_error()
    {
        var (output, _) = await RunAsync("OK" + new string('x', 40) + "\r\nOK\r\nQUIT\r\n");
        Assert.Equal("hello\r\ntoo long\r\nok\r\nbye\r\n", output);
    }

    [Fact]
    public async Task A_backend_failure_costs_the_command_not_the_connection()
    {
        var (output, events) = await RunAsync("FAIL\r\nOK\r\nQUIT\r\n");
        Assert.Equal("hello\r\nbackend error\r\nok\r\nbye\r\n", output);
        Assert.Equal(["started", "failed: backend broke", "ended"], events);
    }

    [Fact]
    public async Task A_client_that_leaves_ends_the_session_quietly()
    {
        var (output, events) = await RunAsync("OK\r\nOK");
        Assert.Equal("hello\r\nok\r\n", output);
        Assert.Equal(["started", "closed", "ended"], events);
    }

    [Fact]
    public async Task A_server_already_shutting_down_says_so_instead_of_greeting()
    {
        var (output, events) = await RunAsync("OK\r\n", shutdown: true);
        Assert.Equal("shutting down\r\n", output);
        Assert.Equal(["started", "ended"], events);
    }
}
