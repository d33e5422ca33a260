using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Session;

// Which command runs in which state (RFC 9051 §6), and the parse of its arguments, which happens here, synchronously,
// before anything is awaited: a command the grammar refuses is answered BAD and changes nothing.
internal sealed partial class ImapSession
{
    private static ValueTask<bool> Continue() => ValueTask.FromResult(true);

    private ValueTask<bool> Dispatch(ImapVerb verb, ref ImapReader reader)
    {
        if (_read == CommandReadOutcome.AppendMessage && verb != ImapVerb.Append)
        {
            RejectSyntax("A literal message is only expected by APPEND");
            return SkipAppendMessageAsync();
        }
        switch (verb)
        {
            // Any state.
            case ImapVerb.Capability:
                reader.ReadEnd();
                return CapabilityAsync();
            case ImapVerb.Noop:
                reader.ReadEnd();
                return NoopAsync();
            case ImapVerb.Logout:
                return ValueTask.FromResult(Logout(ref reader));
            case ImapVerb.Id:
                IdArguments.Parse(ref reader);
                return IdAsync();
        }

        if (_state == ImapState.NotAuthenticated)
        {
            switch (verb)
            {
                case ImapVerb.StartTls:
                    return StartTlsAsync(ref reader);
                case ImapVerb.Login:
                    return LoginAsync(ref reader);
                case ImapVerb.Authenticate:
                    return AuthenticateAsync(ref reader);
                case ImapVerb.Unknown or ImapVerb.UnknownUid:
                    Reject(ImapRejectReason.UnknownCommand);
                    return Continue();
                default:
                    return RejectInState(ImapRejectReason.NotAuthenticated);
            }
        }

        switch (verb)
        {
            case ImapVerb.StartTls or ImapVerb.Login or ImapVerb.Authenticate:
                return RejectInState(ImapRejectReason.AlreadyAuthenticated);
            case ImapVerb.Enable:
                if (_state == ImapState.Selected)
                {
                    return RejectInState(ImapRejectReason.CannotEnable); // RFC 5161 §3.1: authenticated state only
                }
                return ValueTask.FromResult(Enable(ref reader));
            case ImapVerb.Select or ImapVerb.Examine:
                return SelectAsync(SelectArguments.Parse(ref reader), readOnly: verb == ImapVerb.Examine);
            case ImapVerb.Create:
                return CreateAsync(CreateArguments.Parse(ref reader));
            case ImapVerb.Delete:
                return DeleteAsync(MailboxArguments.Parse(ref reader).Mailbox);
            case ImapVerb.Rename:
                var rename = RenameArguments.Parse(ref reader);
                return RenameAsync(rename.From, rename.To);
            case ImapVerb.Subscribe or ImapVerb.Unsubscribe:
                return SubscribeAsync(MailboxArguments.Parse(ref reader).Mailbox, subscribe: verb == ImapVerb.Subscribe);
            case ImapVerb.List:
                return ListAsync(ListArguments.Parse(ref reader));
            case ImapVerb.Lsub:
                return LsubAsync(LsubArguments.Parse(ref reader));
            case ImapVerb.Namespace:
                reader.ReadEnd();
                return NamespaceAsync();
            case ImapVerb.Status:
                return StatusAsync(StatusArguments.Parse(ref reader));
            case ImapVerb.Append:
                if (_read != CommandReadOutcome.AppendMessage)
                {
                    RejectSyntax("APPEND needs the message as a literal");
                    return Continue();
                }
                return AppendAsync(AppendArguments.Parse(ref reader));
            case ImapVerb.Idle:
                reader.ReadEnd();
                return IdleAsync();
            case ImapVerb.Unknown or ImapVerb.UnknownUid:
                Reject(ImapRejectReason.UnknownCommand);
                return Continue();
        }

        if (_state != ImapState.Selected)
        {
            return RejectInState(ImapRejectReason.NoFolderSelected);
        }
        var byUid = verb is ImapVerb.UidExpunge or ImapVerb.UidFetch or ImapVerb.UidSearch or ImapVerb.UidStore or ImapVerb.UidCopy or ImapVerb.UidMove;
        switch (verb)
        {
            case ImapVerb.Check:
                reader.ReadEnd();
                return CheckAsync();
            case ImapVerb.Close or ImapVerb.Unselect:
                reader.ReadEnd();
                return CloseAsync(expunge: verb == ImapVerb.Close);
            case ImapVerb.Expunge:
                reader.ReadEnd();
                return ExpungeAsync(null);
            case ImapVerb.UidExpunge:
                return ExpungeAsync(UidCommand.ParseExpunge(ref reader));
            case ImapVerb.Store or ImapVerb.UidStore:
                return StoreAsync(StoreArguments.Parse(ref reader), byUid);
            case ImapVerb.Copy or ImapVerb.UidCopy or ImapVerb.Move or ImapVerb.UidMove:
                return CopyAsync(CopyArguments.Parse(ref reader), byUid, move: verb is ImapVerb.Move or ImapVerb.UidMove);
            case ImapVerb.Fetch or ImapVerb.UidFetch:
                return FetchAsync(ref reader, byUid);
            case ImapVerb.Search or ImapVerb.UidSearch:
                return SearchAsync(ref reader, byUid);
            default:
                Reject(ImapRejectReason.UnknownCommand);
                return Continue();
        }
    }

    private ValueTask<bool> RejectInState(ImapRejectReason reason)
    {
        Reject(reason);
        return _read == CommandReadOutcome.AppendMessage ? SkipAppendMessageAsync() : Continue();
    }

    private async ValueTask<bool> NoopAsync()
    {
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("NOOP completed\r\n"u8);
        return true;
    }
}
