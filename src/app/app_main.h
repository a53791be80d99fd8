#pragma once

namespace ramflow::app {

// The whole program; returns the process exit code (2 for bad configuration).
int main(int argc, char** argv, char** envp);

}  // namespace ramflow::app
