using System.Text;

namespace Berth.Client;

/// <summary>An option of a client command. A null <see cref="Placeholder"/> means a switch that takes no value.</summary>
internal sealed record OptionSpec(string Name, string? Short, string? Placeholder, string Help, bool Repeatable = false)
{
    public bool TakesValue => Placeholder is not null;
}

/// <summary>
/// One client command: its words (<c>robot token create</c>), its positional arguments, its options and what it does.
/// The parser and the <c>--help</c> text both come from this description, so they cannot disagree.
/// </summary>
internal sealed class CommandSpec
{
    public required string Path { get; init; }

    public required string Summary { get; init; }

    /// <summary>Positional argument names, in order; the first <see cref="Required"/> must be given.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    public int? RequiredArguments { get; init; }

    public int Required => RequiredArguments ?? Arguments.Count;

    public IReadOnlyList<OptionSpec> Options { get; init; } = [];

    /// <summary>Whether the command talks to a server chosen by <c>--server</c> and prints with <c>--output</c>.</summary>
    public bool ServerOptions { get; init; } = true;

    /// <summary>More lines for the help text (examples, notes).</summary>
    public string? Details { get; init; }

    public required Func<CommandRun, Task<int>> Run { get; init; }

    public static readonly OptionSpec Server = new("--server", null, "URL", "the server (default: the last one logged in to)");
    public static readonly OptionSpec Output = new("--output", "-o", "FORMAT", "table or json (default table)");
    public static readonly OptionSpec Help = new("--help", "-h", null, "this text");

    public IEnumerable<OptionSpec> AllOptions =>
        Options.Concat(ServerOptions ? [Server, Output] : []).Append(Help);

    public string Usage()
    {
        var usage = new StringBuilder("berth ").Append(Path);
        for (var i = 0; i < Arguments.Count; i++)
        {
            usage.Append(' ').Append(i < Required ? Arguments[i] : $"[{Arguments[i]}]");
        }

        return usage.Append(" [OPTIONS]").ToString();
    }

    public string HelpText()
    {
        var text = new StringBuilder();
        text.Append("Usage: ").AppendLine(Usage());
        text.AppendLine();
        text.AppendLine(Summary);
        if (Details is not null)
        {
            text.AppendLine();
            text.AppendLine(Details.TrimEnd());
        }

        text.AppendLine();
        text.AppendLine("Options:");
        var rows = AllOptions.Select(o => (Flag: (o.Short is null ? "    " : o.Short + ", ") + o.Name + (o.TakesValue ? " " + o.Placeholder : ""), o.Help)).ToList();
        var width = rows.Max(r => r.Flag.Length);
        foreach (var (flag, help) in rows)
        {
            text.Append("  ").Append(flag.PadRight(width)).Append("   ").AppendLine(help);
        }

        return text.ToString();
    }
}

/// <summary>The arguments of one command after parsing: positionals, option values and switches.</summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];

    public bool HelpRequested { get; set; }

    public void Add(string option, string value)
    {
        if (!_values.TryGetValue(option, out var list))
        {
            _values[option] = list = [];
        }

        list.Add(value);
    }

    public bool Has(string option) => _values.ContainsKey(option);

    /// <summary>The value of an option given once (the last one when given more than once), or null.</summary>
    public string? Value(string option) => _values.TryGetValue(option, out var list) ? list[^1] : null;

    public IReadOnlyList<string> Values(string option) => _values.TryGetValue(option, out var list) ? list : [];

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="spec"/>: <c>--name value</c>, <c>--name=value</c>,
    /// <c>-o json</c>, switches, and <c>--</c> to end options. Never echoes a value in an error (it may be a secret).
    /// </summary>
    /// <exception cref="CommandLineException">An unknown option, a missing value or the wrong number of arguments.</exception>
    public static ParsedArguments Parse(CommandSpec spec, IReadOnlyList<string> args)
    {
        var parsed = new ParsedArguments();
        var options = spec.AllOptions.ToList();
        var onlyPositionals = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (onlyPositionals || arg == "-" || !arg.StartsWith('-'))
            {
                parsed.Positionals.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                onlyPositionals = true;
                continue;
            }

            var eq = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
            var name = eq > 0 ? arg[..eq] : arg;
            var option = options.FirstOrDefault(o => o.Name == name || o.Short == name)
                ?? throw new CommandLineException($"unknown option '{name}'");
            if (option == CommandSpec.Help)
            {
                parsed.HelpRequested = true;
                continue;
            }

            if (!option.TakesValue)
            {
                if (eq > 0)
                {
                    throw new CommandLineException($"option {option.Name} takes no value");
                }

                parsed.Add(option.Name, "");
                continue;
            }

            string value;
            if (eq > 0)
            {
                value = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new CommandLineException($"option {option.Name} needs a value ({option.Placeholder})");
            }

            if (!option.Repeatable && parsed.Has(option.Name))
            {
                throw new CommandLineException($"option {option.Name} given twice");
            }

            parsed.Add(option.Name, value);
        }

        if (parsed.HelpRequested)
        {
            return parsed;
        }

        if (parsed.Positionals.Count < spec.Required)
        {
            var missing = string.Join(' ', spec.Arguments.Skip(parsed.Positionals.Count).Take(spec.Required - parsed.Positionals.Count));
            throw new CommandLineException($"missing {missing}");
        }

        if (parsed.Positionals.Count > spec.Arguments.Count)
        {
            // The surplus is not echoed: a password typed where it does not belong must not reach the screen.
            throw new CommandLineException(spec.Arguments.Count == 0
                ? $"'{spec.Path}' takes no arguments"
                : $"too many arguments; '{spec.Path}' takes {string.Join(' ', spec.Arguments)}");
        }

        foreach (var value in parsed.Positionals)
        {
            if (value.Length == 0)
            {
                throw new CommandLineException("an argument is empty");
            }
        }

        return parsed;
    }
}
