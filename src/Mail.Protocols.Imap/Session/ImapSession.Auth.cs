using System.Buffers;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Telemetry;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Sasl;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;
using Mail.Protocols.Users;

namespace Mail.Protocols.Imap.Session;

// Any state: CAPABILITY, NOOP, LOGOUT, ID. Not authenticated: STARTTLS, LOGIN, AUTHENTICATE. Authenticated: ENABLE.
internal sealed partial class ImapSession
{
    private static readonly byte[] s_challengePrefix = "+ "u8.ToArray();

    // Set while the user directory is asked about a login: a failure then answers NO [UNAVAILABLE] for the login.
    private bool _authenticating;

    // Every login (LOGIN and each SASL mechanism) needs TLS unless plaintext authentication is allowed.
    private bool AuthAllowed => Connection.IsSecure || Options.AllowPlaintextAuth;

    /// <summary>Writes the capability list (without the leading "CAPABILITY" atom's "* "); what it says depends on the state.</summary>
    private void WriteCapabilities()
    {
        var output = IO.Output;
        output.Write("CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE"u8);
        if (_state == ImapState.NotAuthenticated)
        {
            if (Connection.CanStartTls)
            {
                output.Write(" STARTTLS"u8);
            }
            if (AuthAllowed)
            {
                foreach (var mechanism in _server.AuthMechanisms)
                {
                    output.Write(" AUTH="u8);
                    output.WriteAscii(mechanism);
                }
            }
            else
            {
                output.Write(" LOGINDISABLED"u8);
            }
            return;
        }
        output.Write(" NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE CONDSTORE QRESYNC ESEARCH SEARCHRES BINARY UTF8=ACCEPT APPENDLIMIT="u8);
        output.WriteNumber(Options.AppendLimit);
    }

    private async ValueTask<bool> CapabilityAsync()
    {
        IO.Write("* "u8);
        WriteCapabilities();
        IO.Write("\r\n"u8);
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("CAPABILITY completed\r\n"u8);
        return true;
    }

    private bool Logout(ref ImapReader reader)
    {
        reader.ReadEnd();
        IO.Write(ImapReplies.LogoutBye);
        Ok("LOGOUT completed\r\n"u8);
        return false;
    }

    // RFC 2971: the server says what it is; what the client says about itself is not kept.
    private async ValueTask<bool> IdAsync()
    {
        IO.Write("* ID (\"name\" \"Mail.Protocols\")\r\n"u8);
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("ID completed\r\n"u8);
        return true;
    }

    private ValueTask<bool> StartTlsAsync(ref ImapReader reader)
    {
        reader.ReadEnd();
        if (!Connection.CanStartTls)
        {
            Reject(Connection.IsSecure ? ImapRejectReason.TlsAlreadyActive : ImapRejectReason.TlsNotAvailable);
            return ValueTask.FromResult(true);
        }
        Ok("Begin TLS negotiation now\r\n"u8);
        return StartTlsAsync();
    }

    private async ValueTask<bool> StartTlsAsync()
    {
        // Plaintext pipelined after STARTTLS is never executed (RFC 9051 §6.2.1; the CVE-2011-0411 class).
        return await StartTlsAsync(_logger).ConfigureAwait(false);
    }

    private ValueTask<bool> LoginAsync(ref ImapReader reader)
    {
        var arguments = LoginArguments.Parse(ref reader);
        if (!AuthAllowed)
        {
            Reject(ImapRejectReason.LoginDisabled);
            return ValueTask.FromResult(true);
        }
        return LoginAsync(arguments.UserName, arguments.Password);
    }

    private async ValueTask<bool> LoginAsync(string login, string password)
    {
        // The attempt holds a slot of the address's and the login's failure budgets until it ends (see AuthAttempt).
        using var attempt = Options.RateLimits?.BeginAuth(Connection.RemoteEndPoint, login);
        if (attempt?.Refused is { } locked)
        {
            return await RateLimitedLoginAsync(locked, "LOGIN").ConfigureAwait(false);
        }
        _authenticating = true;
        var user = await _server.Users.FindByLoginAsync(login, Connection.Aborted).ConfigureAwait(false);
        if (user is not null && attempt?.ReserveUser(user.Login) == false)
        {
            _authenticating = false;
            attempt.Dispose();
            return await RateLimitedLoginAsync(SessionRateLimit.AuthFailuresPerLogin, "LOGIN").ConfigureAwait(false);
        }
        if (user is null || !await _server.Users.VerifyPasswordAsync(user, password, Connection.Aborted).ConfigureAwait(false))
        {
            _authenticating = false;
            ImapLog.AuthenticationFailed(_logger, Connection.Id, "LOGIN", "invalid credentials");
            CountLoginAttempt("LOGIN", "failed");
            return await FailLoginAsync(ImapRejectReason.AuthFailed, attempt).ConfigureAwait(false);
        }
        _authenticating = false;
        attempt?.Dispose();
        CountLoginAttempt("LOGIN", "succeeded");
        return await LoggedInAsync(user, "LOGIN").ConfigureAwait(false);
    }

    private ValueTask<bool> AuthenticateAsync(ref ImapReader reader)
    {
        var arguments = AuthenticateArguments.Parse(ref reader);
        // Every mechanism, not only those that send the password: CRAM-MD5 hands an eavesdropper what an offline
        // dictionary attack needs, and SCRAM gives the user name away.
        if (!AuthAllowed)
        {
            Reject(ImapRejectReason.LoginDisabled);
            return ValueTask.FromResult(true);
        }
        if (!_server.AuthMechanisms.Contains(arguments.Mechanism, StringComparer.OrdinalIgnoreCase))
        {
            Reject(ImapRejectReason.UnsupportedMechanism);
            return ValueTask.FromResult(true);
        }
        return AuthenticateAsync(arguments.Mechanism, arguments.InitialResponse);
    }

    private async ValueTask<bool> AuthenticateAsync(string name, byte[]? initial)
    {
        // The attempt holds a slot of the address's failure budget until it ends, and of the login's once the mechanism
        // looks it up: through a directory that reserves it, and finds nobody for a login with no slot free (the secret
        // is then never checked).
        using var attempt = Options.RateLimits?.BeginAuth(Connection.RemoteEndPoint, null);
        if (attempt?.Refused is { } locked)
        {
            return await RateLimitedLoginAsync(locked, name.ToUpperInvariant()).ConfigureAwait(false);
        }
        var users = attempt?.Guard(_server.Users);
        var mechanism = _server.Sasl.Create(name, new SaslContext(users ?? _server.Users, Options.ServerName, Connection.TimeProvider, Options.ScramUnknownUserKey, "imap"));
        if (mechanism is null)
        {
            // Removed from the registry since the server was built.
            Reject(ImapRejectReason.UnsupportedMechanism);
            return true;
        }
        _authenticating = true;
        var result = await SaslCommandExchange.RunAsync(IO, mechanism, initial, s_challengePrefix, Options.LoginTimeout, cancellationToken: Connection.Aborted).ConfigureAwait(false);
        _authenticating = false;
        if (attempt is { LoginLockedOut: true } && result.Outcome is SaslExchangeOutcome.Succeeded or SaslExchangeOutcome.Failed or SaslExchangeOutcome.Malformed
            or SaslExchangeOutcome.Cancelled or SaslExchangeOutcome.InvalidBase64 or SaslExchangeOutcome.AnswerTooLong)
        {
            attempt!.Dispose();
            return await RateLimitedLoginAsync(SessionRateLimit.AuthFailuresPerLogin, mechanism.Name).ConfigureAwait(false);
        }
        CountLoginAttempt(mechanism.Name, result.Outcome);
        switch (result.Outcome)
        {
            case SaslExchangeOutcome.Succeeded:
                attempt?.Dispose();
                return await LoggedInAsync(result.Step.User!, mechanism.Name).ConfigureAwait(false);
            case SaslExchangeOutcome.Failed:
                ImapLog.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, result.Step.Error ?? "failed");
                return await FailLoginAsync(ImapRejectReason.AuthFailed, attempt).ConfigureAwait(false);
            case SaslExchangeOutcome.Cancelled:
                // A cancelled exchange costs what a failed one does: "*" after the first challenge must not be a free probe.
                ImapLog.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, "cancelled");
                return await FailLoginAsync(ImapRejectReason.AuthCancelled, attempt).ConfigureAwait(false);
            case SaslExchangeOutcome.Malformed or SaslExchangeOutcome.InvalidBase64 or SaslExchangeOutcome.AnswerTooLong:
                ImapLog.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, result.Step.Error ?? result.Outcome.ToString());
                Reject(ImapRejectReason.AuthMalformed);
                return true;
            default:
                // Timed out, closed or aborted: the session ends without a further reply.
                AbandonCommand();
                return false;
        }
    }

    // A login refused by a lock-out (SessionRateLimits) without its credentials checked: NO [UNAVAILABLE], after the same
    // delay as a failure and charged to the session's budget, so that hammering a locked-out login is slow here too.
    private ValueTask<bool> RateLimitedLoginAsync(SessionRateLimit limit, string method)
    {
        CountLoginAttempt(method, "rate_limited");
        ImapLog.RateLimited(_logger, Connection.Id, limit);
        CountRateLimited(limit);
        return FailLoginAsync(ImapRejectReason.AuthRateLimited);
    }

    // A failed or cancelled login: the reply waits FailedAuthDelay, and MaxAuthFailures of them end the session. The
    // attempt counts against the client's address and the login (when known) in the rate limits shared across sessions.
    private async ValueTask<bool> FailLoginAsync(ImapRejectReason reason, AuthAttempt? attempt = null)
    {
        CountFailedLogin(attempt);
        if (await _authFailures.FailAsync(IO, Connection.Aborted).ConfigureAwait(false))
        {
            Reject(reason);
            IO.Write(ImapReplies.TooManyAuthFailures);
            return false;
        }
        Reject(reason);
        return true;
    }

    private async ValueTask<bool> LoggedInAsync(MailUser user, string method)
    {
        if (Options.FoldersAtLogin.Count > 0)
        {
            await CreateFoldersAtLoginAsync(user.Login).ConfigureAwait(false);
        }
        _user = user;
        _state = ImapState.Authenticated;
        _subscription = Store.Subscribe(user.Login);
        ImapLog.LoggedIn(_logger, Connection.Id, Mail.Protocols.Telemetry.PersonalData.ForLog(user.Login), method);
        // RFC 9051 §6.2.2: the capabilities change at login, so the OK carries them.
        WriteTagged("OK ["u8);
        WriteCapabilities();
        IO.Write("] Logged in\r\n"u8);
        Success();
        return true;
    }

    private async ValueTask CreateFoldersAtLoginAsync(string login)
    {
        var existing = await Store.ListFoldersAsync(login, Connection.Aborted).ConfigureAwait(false);
        foreach (var folder in Options.FoldersAtLogin)
        {
            if (existing.Any(f => f.IsSelectable && string.Equals(f.Name, folder.Name, StringComparison.Ordinal)))
            {
                continue;
            }
            try
            {
                await Store.CreateFolderAsync(login, folder.Name, folder.SpecialUse, Connection.Aborted).ConfigureAwait(false);
            }
            catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.FolderExists)
            {
                continue; // another session of the user created it first
            }
            await Store.AddSubscriptionAsync(login, folder.Name, Connection.Aborted).ConfigureAwait(false);
        }
    }

    // RFC 5161 ENABLE; what it switches is in RFC 9051 appendix E (IMAP4rev2), RFC 7162 §3.2.3 (QRESYNC implies
    // CONDSTORE) and RFC 6855 (UTF8=ACCEPT).
    private bool Enable(ref ImapReader reader)
    {
        var arguments = EnableArguments.Parse(ref reader);
        IO.Write("* ENABLED"u8);
        foreach (var capability in arguments.Capabilities)
        {
            var enabled = capability.ToUpperInvariant() switch
            {
                "IMAP4REV2" => Switch(ref _imap4rev2),
                "UTF8=ACCEPT" => Switch(ref _utf8Accept),
                "CONDSTORE" => Switch(ref _condStore),
                "QRESYNC" => Switch(ref _qresync) | Switch(ref _condStore),
                _ => false,
            };
            if (enabled)
            {
                IO.Write(" "u8);
                IO.Output.WriteAscii(capability.ToUpperInvariant());
            }
        }
        IO.Write("\r\n"u8);
        Ok("ENABLE completed\r\n"u8);
        return true;

        // Only what this command newly enabled is listed (RFC 5161 §3.1).
        static bool Switch(ref bool flag)
        {
            var was = flag;
            flag = true;
            return !was;
        }
    }
}
