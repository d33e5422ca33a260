using Mail.Protocols.Text;
using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.Pop3.Protocol;
using Mail.Protocols.Pop3.Telemetry;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Sasl;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;

namespace Mail.Protocols.Pop3.Session;

// AUTHORIZATION state: USER/PASS, APOP, AUTH (RFC 5034) and STLS (RFC 2595).
internal sealed partial class Pop3Session
{
    private void User(ReadOnlySpan<byte> arguments)
    {
        if (!AuthAllowed)
        {
            Error(Pop3RejectReason.AuthRequiresTls);
            return;
        }
        if (arguments.IsEmpty)
        {
            Error(Pop3RejectReason.UserSyntax);
            return;
        }
        // The same answer whether or not the user exists: no enumeration.
        _pendingUser = DecodeText(arguments);
        IO.Write("+OK\r\n"u8);
        Success();
    }

    private async ValueTask<bool> PassAsync(string password)
    {
        if (!AuthAllowed)
        {
            Error(Pop3RejectReason.AuthRequiresTls);
            return true;
        }
        if (_pendingUser is not { } login)
        {
            Error(Pop3RejectReason.UserFirst);
            return true;
        }
        _pendingUser = null;
        // The attempt holds a slot of the address's and the login's failure budgets until it ends (see AuthAttempt).
        using var attempt = Options.RateLimits?.BeginAuth(Connection.RemoteEndPoint, login);
        if (attempt?.Refused is { } locked)
        {
            return await RateLimitedLoginAsync(locked, "USER").ConfigureAwait(false);
        }
        var user = await _server.Users.FindByLoginAsync(login, Connection.Aborted).ConfigureAwait(false);
        if (user is not null && attempt?.ReserveUser(user.Login) == false)
        {
            attempt.Dispose();
            return await RateLimitedLoginAsync(SessionRateLimit.AuthFailuresPerLogin, "USER").ConfigureAwait(false);
        }
        if (user is null || !await _server.Users.VerifyPasswordAsync(user, password, Connection.Aborted).ConfigureAwait(false))
        {
            CountLoginAttempt("USER", "failed");
            return await FailLoginAsync("USER/PASS", attempt: attempt).ConfigureAwait(false);
        }
        attempt?.Dispose();
        CountLoginAttempt("USER", "succeeded");
        return await LoginAsync(user, "USER/PASS").ConfigureAwait(false);
    }

    private async ValueTask<bool> ApopAsync(string arguments)
    {
        var parts = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (_apopTimestamp is null)
        {
            Error(Pop3RejectReason.ApopNotEnabled);
            return true;
        }
        if (!AuthAllowed)
        {
            Error(Pop3RejectReason.AuthRequiresTls);
            return true;
        }
        if (parts.Length != 2 || parts[1].Length != 32)
        {
            Error(Pop3RejectReason.ApopSyntax);
            return true;
        }
        using var attempt = Options.RateLimits?.BeginAuth(Connection.RemoteEndPoint, parts[0]);
        if (attempt?.Refused is { } locked)
        {
            return await RateLimitedLoginAsync(locked, "APOP").ConfigureAwait(false);
        }
        var user = await _server.Users.FindByLoginAsync(parts[0], Connection.Aborted).ConfigureAwait(false);
        if (user is not null && attempt?.ReserveUser(user.Login) == false)
        {
            attempt.Dispose();
            return await RateLimitedLoginAsync(SessionRateLimit.AuthFailuresPerLogin, "APOP").ConfigureAwait(false);
        }
        var secret = user is null ? null : await _server.Users.GetSharedSecretAsync(user, Connection.Aborted).ConfigureAwait(false);
        if (user is null || secret is null)
        {
            CountLoginAttempt("APOP", "failed");
            return await FailLoginAsync("APOP", attempt: attempt).ConfigureAwait(false);
        }
#pragma warning disable CA5351 // MD5 is what RFC 1939 §7 specifies for APOP.
        var expected = MD5.HashData(Encoding.UTF8.GetBytes(_apopTimestamp + secret));
#pragma warning restore CA5351
        byte[] given;
        try
        {
            given = Convert.FromHexString(parts[1]);
        }
        catch (FormatException)
        {
            CountLoginAttempt("APOP", "failed");
            return await FailLoginAsync("APOP", attempt: attempt).ConfigureAwait(false);
        }
        if (!CryptographicOperations.FixedTimeEquals(expected, given))
        {
            CountLoginAttempt("APOP", "failed");
            return await FailLoginAsync("APOP", attempt: attempt).ConfigureAwait(false);
        }
        attempt?.Dispose();
        CountLoginAttempt("APOP", "succeeded");
        return await LoginAsync(user, "APOP").ConfigureAwait(false);
    }

    private async ValueTask<bool> AuthAsync(string arguments)
    {
        var parts = arguments.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            // Common practice: AUTH alone lists the mechanisms.
            IO.Write("+OK\r\n"u8);
            foreach (var offered in OfferedMechanisms())
            {
                IO.Output.WriteAscii(offered);
                IO.Write("\r\n"u8);
            }
            IO.Write(".\r\n"u8);
            Success();
            return true;
        }
        // Every mechanism, not only those that send the password (PLAIN, LOGIN): CRAM-MD5 hands an eavesdropper
        // what an offline dictionary attack needs, and SCRAM gives the user name away.
        if (!AuthAllowed)
        {
            Error(Pop3RejectReason.AuthRequiresTls);
            return true;
        }
        var name = parts[0];
        if (!_server.AuthMechanisms.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            Error(Pop3RejectReason.UnsupportedMechanism);
            return true;
        }
        if (!SaslCommandExchange.TryParseInitialResponse(parts.Length == 2 ? parts[1] : null, out var initial))
        {
            Error(Pop3RejectReason.InvalidBase64);
            return true;
        }
        // The attempt holds a slot of the address's failure budget until it ends, and of the login's once the mechanism
        // looks it up: through a directory that reserves it, and finds nobody for a login with no slot free (the secret
        // is then never checked).
        using var attempt = Options.RateLimits?.BeginAuth(Connection.RemoteEndPoint, null);
        if (attempt?.Refused is { } locked)
        {
            return await RateLimitedLoginAsync(locked, name.ToUpperInvariant()).ConfigureAwait(false);
        }
        var users = attempt?.Guard(_server.Users);
        var mechanism = _server.Sasl.Create(name, new SaslContext(users ?? _server.Users, Options.ServerName, Connection.TimeProvider, Options.ScramUnknownUserKey, "pop3"));
        if (mechanism is null)
        {
            // Removed from the registry since the server was built.
            Error(Pop3RejectReason.UnsupportedMechanism);
            return true;
        }

        // No failure data (RFC 7628's error challenge) over POP3: MailKit's POP3 client takes a challenge after its last
        // message for a protocol error and drops the connection, where a plain -ERR lets it try again.
        var result = await SaslCommandExchange.RunAsync(IO, mechanism, initial, s_challengePrefix, Options.IdleTimeout, sendFailureData: false,
            cancellationToken: Connection.Aborted).ConfigureAwait(false);
        if (attempt is { LoginLockedOut: true } && result.Outcome is SaslExchangeOutcome.Succeeded or SaslExchangeOutcome.Failed or SaslExchangeOutcome.Malformed or SaslExchangeOutcome.Cancelled)
        {
            attempt!.Dispose();
            return await RateLimitedLoginAsync(SessionRateLimit.AuthFailuresPerLogin, mechanism.Name).ConfigureAwait(false);
        }
        CountLoginAttempt(mechanism.Name, result.Outcome);
        switch (result.Outcome)
        {
            case SaslExchangeOutcome.Succeeded:
                attempt?.Dispose();
                return await LoginAsync(result.Step.User!, mechanism.Name).ConfigureAwait(false);
            case SaslExchangeOutcome.Failed:
                Pop3Log.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, result.Step.Error ?? "failed");
                return await FailLoginAsync(mechanism.Name, attempt: attempt).ConfigureAwait(false);
            case SaslExchangeOutcome.Malformed:
                Pop3Log.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, result.Step.Error ?? "failed");
                Error(Pop3RejectReason.AuthMalformed);
                return true;
            case SaslExchangeOutcome.Cancelled:
                // A cancelled exchange costs what a failed one does: otherwise "*" after the server's first challenge
                // would be a free probe (SCRAM's salt for a login), repeatable without delay or limit.
                Pop3Log.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, "cancelled");
                return await FailLoginAsync(mechanism.Name, Pop3RejectReason.AuthCancelled, attempt).ConfigureAwait(false);
            case SaslExchangeOutcome.InvalidBase64:
                Error(Pop3RejectReason.InvalidBase64);
                return true;
            case SaslExchangeOutcome.AnswerTooLong:
                Error(Pop3RejectReason.LineTooLong);
                return true;
            default:
                // Timed out, closed or aborted: the session ends without a further reply.
                AbandonCommand();
                return false;
        }
    }

    private static readonly byte[] s_challengePrefix = "+ "u8.ToArray();

    // A login refused by a lock-out (SessionRateLimits) without its credentials checked: -ERR [SYS/TEMP], after the same
    // delay as a failure and charged to the session's budget, so that hammering a locked-out login is slow here too.
    private ValueTask<bool> RateLimitedLoginAsync(SessionRateLimit limit, string method)
    {
        CountLoginAttempt(method, "rate_limited");
        Pop3Log.RateLimited(_logger, Connection.Id, limit);
        CountRateLimited(limit);
        return FailLoginAsync("", Pop3RejectReason.AuthRateLimited);
    }

    // A failed or cancelled login: the reply waits FailedAuthDelay, and MaxAuthFailures of them end the session. The
    // attempt counts against the client's address and the login (when known) in the rate limits shared across sessions.
    private async ValueTask<bool> FailLoginAsync(string method, Pop3RejectReason reason = Pop3RejectReason.AuthFailed, AuthAttempt? attempt = null)
    {
        if (reason == Pop3RejectReason.AuthFailed)
        {
            Pop3Log.AuthenticationFailed(_logger, Connection.Id, method, "invalid credentials");
        }
        CountFailedLogin(attempt);
        if (await _authFailures.FailAsync(IO, Connection.Aborted).ConfigureAwait(false))
        {
            // One reply per command: the last failure says it closes.
            _server.Metrics.Rejected(reason);
            IO.Write(Pop3Replies.TooManyAuthFailures);
            return false;
        }
        Error(reason);
        return true;
    }

    /// <summary>Takes the maildrop lock and lists the INBOX: the session enters TRANSACTION.</summary>
    private async ValueTask<bool> LoginAsync(MailUser user, string method)
    {
        if (Options.LoginDelaySeconds is { } delay && !LoginDelayElapsed(user.Login, delay))
        {
            Error(Pop3RejectReason.LoginDelay);
            return true;
        }
        IDisposable? maildropLock;
        try
        {
            // The store's lease: it also excludes sessions of other servers and processes on the same store.
            maildropLock = await _server.Store.TryAcquireMaildropLeaseAsync(user.Login, Connection.Aborted).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw StoreUnavailable(ex);
        }
        if (maildropLock is null)
        {
            Pop3Log.MaildropInUse(_logger, Connection.Id, Mail.Protocols.Telemetry.PersonalData.ForLog(user.Login));
            Error(Pop3RejectReason.MaildropInUse);
            return true;
        }
        try
        {
            // The list and its UIDVALIDITY from one instant (a maildrop follows no changes: no subscription).
            var snapshot = await _server.Store.OpenFolderAsync(user.Login, Inbox, cancellationToken: Connection.Aborted).ConfigureAwait(false);
            _messages = snapshot.Messages;
            _uidValidity = snapshot.Status.UidValidity;
        }
        catch (Exception ex)
        {
            maildropLock.Dispose();
            throw ex is IOException ? StoreUnavailable(ex) : ex;
        }
        if (Options.LoginDelaySeconds is not null)
        {
            _server.LastLogins[user.Login] = Connection.TimeProvider.GetTimestamp();
        }
        _deleted = new bool[_messages.Count];
        _retrieved = new bool[_messages.Count];
        _lock = maildropLock;
        _user = user;
        Pop3Log.LoggedIn(_logger, Connection.Id, Mail.Protocols.Telemetry.PersonalData.ForLog(user.Login), method, _messages.Count);
        IO.WriteAscii($"+OK {user.Login} has {_messages.Count} message(s)\r\n");
        Success();
        return true;
    }

    // LOGIN-DELAY (RFC 2449 §6.5): at most one successful login per user every `delay` seconds. Only a login that
    // succeeded counts (see LoginAsync): one refused as IN-USE or failed by the store does not start the wait.
    // Check and record need not be atomic: the maildrop lock already keeps a second session of the user out.
    private bool LoginDelayElapsed(string login, int delay)
    {
        var clock = Connection.TimeProvider;
        return !_server.LastLogins.TryGetValue(login, out var last)
            || clock.GetTimestamp() - last >= (long)(delay * (double)clock.TimestampFrequency);
    }

    private async ValueTask<bool> StartTlsAsync()
    {
        if (!Connection.CanStartTls)
        {
            Error(Connection.IsSecure ? Pop3RejectReason.TlsAlreadyActive : Pop3RejectReason.StlsNotAvailable);
            return true;
        }
        IO.Write("+OK Begin TLS negotiation\r\n"u8);
        // Plaintext pipelined after STLS is never executed (RFC 2595 §4; the CVE-2011-0411 class).
        if (!await StartTlsAsync(_logger).ConfigureAwait(false))
        {
            return false;
        }
        _pendingUser = null;
        _utf8 = false;
        return true;
    }
}
