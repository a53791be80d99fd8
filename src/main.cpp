#include "app/app_main.h"

int main(int argc, char** argv, char** envp) { return ramflow::app::main(argc, argv, envp); }
