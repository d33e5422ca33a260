using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Sasl;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Tests;

/// <summary>The SASL command exchange SMTP, POP3 and IMAP share, over in-memory pipes.</summary>
public sealed class SaslCommandExchangeTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly Heartbeat _heartbeat;
    private readonly Pipe _fromClient = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _toClient = new(new PipeOptions(useSynchronizationContext: false));
    private readonly MailConnection _connection;
    private readonly SessionIO _io;
    private readonly InMemoryUserDirectory _users = new();

    public SaslCommandExchangeTests()
    {
        _heartbeat = new Heartbeat(_time);
        _connection = new MailConnection(new TestDuplexPipe(_fromClient.Reader, _toClient.Writer), null, null, _heartbeat, isSecure: false);
        _io = new SessionIO(_connection);
        _users.AddUser("user", "pencil");
    }


    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        _heartbeat.Dispose();
    }

    // The client's answers are all sent first; the exchange's challenges are read back after it ends.
    private async Task<(SaslExchangeResult Result, string Written)> RunAsync(string prefix, string answers, string mechanism = "LOGIN", byte[]? initial = null)
    {
        if (answers.Length > 0)
        {
            await _fromClient.Writer.WriteAsync(Encoding.ASCII.GetBytes(answers));
        }
        var result = await SaslCommandExchange.RunAsync(_io, TestSasl.Create(mechanism, _users, "mx")!, initial,
            Encoding.ASCII.GetBytes(prefix), TimeSpan.FromMinutes(1));
        await _io.FlushAsync();
        var read = await _toClient.Reader.ReadAsync();
        var written = Encoding.ASCII.GetString(read.Buffer);
        _toClient.Reader.AdvanceTo(read.Buffer.End);
        return (result, written);
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.ASCII.GetBytes(text));

    [Theory]
    [InlineData("334 ")]
    [InlineData("+ ")]
    public async Task Challenges_go_out_after_the_protocols_prefix_and_a_good_answer_succeeds(string prefix)
    {
        var (result, written) = await RunAsync(prefix, $"{B64("user")}\r\n{B64("pencil")}\r\n");
        Assert.Equal(SaslExchangeOutcome.Succeeded, result.Outcome);
        Assert.Equal("user", result.Step.User!.Login);
        Assert.Equal($"{prefix}{B64("Username:")}\r\n{prefix}{B64("Password:")}\r\n", written);
    }

    [Fact]
    public async Task A_wrong_password_fails_without_being_malformed()
    {
        var (result, _) = await RunAsync("+ ", $"{B64("user")}\r\n{B64("pen")}\r\n");
        Assert.Equal(SaslExchangeOutcome.Failed, result.Outcome);
        Assert.False(result.Step.IsMalformed);
    }

    [Fact]
    public async Task A_star_cancels_and_an_answer_that_is_not_base64_is_refused()
    {
        Assert.Equal(SaslExchangeOutcome.Cancelled, (await RunAsync("+ ", "*\r\n")).Result.Outcome);
        Assert.Equal(SaslExchangeOutcome.InvalidBase64, (await RunAsync("+ ", "dXNlc g==\r\n")).Result.Outcome);
    }

    [Fact]
    public async Task An_answer_over_the_line_limit_ends_the_exchange()
    {
        var (result, _) = await RunAsync("+ ", new string('A', SaslCommandExchange.MaxAnswerLength + 4) + "\r\n");
        Assert.Equal(SaslExchangeOutcome.AnswerTooLong, result.Outcome);
    }

    [Fact]
    public async Task A_closed_connection_ends_the_exchange()
    {
        await _fromClient.Writer.CompleteAsync();
        var (result, _) = await RunAsync("+ ", "");
        Assert.Equal(SaslExchangeOutcome.Closed, result.Outcome);
    }

    [Theory]
    [InlineData("=", 0)]
    [InlineData("AHVzZXIAcGVuY2ls", 12)]
    public void An_initial_response_is_equals_for_empty_or_strict_base64(string argument, int length)
    {
        Assert.True(SaslCommandExchange.TryParseInitialResponse(argument, out var initial));
        Assert.Equal(length, initial!.Length);
        Assert.True(SaslCommandExchange.TryParseInitialResponse(null, out var none));
        Assert.Null(none);
        Assert.False(SaslCommandExchange.TryParseInitialResponse("AHVz ZXI=", out _));
    }

    [Fact]
    public async Task The_failure_budget_waits_the_delay_and_runs_out_at_the_cap()
    {
        var budget = new AuthFailureBudget(TimeSpan.FromSeconds(5), 2, _time);
        var first = budget.FailAsync(_io, CancellationToken.None).AsTask();
        Assert.False(first.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(await first);
        var second = budget.FailAsync(_io, CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await second);
        Assert.Equal(2, budget.Failures);
    }
}
