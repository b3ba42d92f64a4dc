using Spectre.Console;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// Where a verb writes and what it runs with: standard output (tables, progress, where to look), the error output
/// (one line per error), the builder hook tests use (extra services, a fake clock), the clock of the demo fleet and
/// the PATH nvidia-smi is looked for on. <see cref="Console"/> writes to <see cref="Output"/>, with no ANSI codes and no
/// redrawn progress when the output is not a terminal.
/// </summary>
public sealed class CliContext
{
    public CliContext(TextWriter output, TextWriter errors, Action<WebApplicationBuilder>? configure = null, TimeProvider? time = null, string? searchPath = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);
        Output = output;
        Errors = errors;
        Configure = configure;
        Time = time ?? TimeProvider.System;
        SearchPath = searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        IsTerminal = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = IsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!IsTerminal)
        {
            // Redirected output (a file, a test) is not wrapped at the 80 columns Spectre assumes without a terminal.
            Console.Profile.Width = RedirectedWidth;
        }
    }

    /// <summary>The width tables are laid out in when the output is not a terminal.</summary>
    public const int RedirectedWidth = 200;

    public TextWriter Output { get; }

    public TextWriter Errors { get; }

    public Action<WebApplicationBuilder>? Configure { get; }

    public TimeProvider Time { get; }

    /// <summary>The directories (PATH syntax) where <c>run</c> looks for nvidia-smi.</summary>
    public string SearchPath { get; }

    /// <summary>True when the output is an interactive terminal (progress redraws in place, colours).</summary>
    public bool IsTerminal { get; }

    public IAnsiConsole Console { get; }
}
